/**
 * The kube-scheduler extender wire format (k8s.io/kube-scheduler/extender/v1).
 * The upstream Go structs carry no json tags, so the fields travel with their
 * Go names (`Pod`, `Nodes`, `NodeNames`, `FailedNodes`, `Host`, `Score`, ...);
 * the Pod and Node objects inside are ordinary Kubernetes JSON.
 *
 * Only the fields the extender reads are checked; everything else is kept
 * (loose objects), because a filter answer in the `Nodes` form must hand back
 * the scheduler's own node objects.
 */
import { z } from "zod";

/** `extenderv1.MaxExtenderPriority`: prioritize scores run 0..10. */
export const MAX_EXTENDER_PRIORITY = 10;

/** A pod with this annotation set to "false" is passed through untouched. */
export const EXTENDER_OPT_OUT_ANNOTATION = "stowage.io/scheduler-extender";

const podVolumeSchema = z.looseObject({
  name: z.string().min(1),
  persistentVolumeClaim: z.looseObject({ claimName: z.string().min(1) }).nullish(),
  /** A generic ephemeral volume: its claim is named `<pod>-<volume>`. */
  ephemeral: z.looseObject({}).nullish(),
});

export const extenderPodSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().min(1),
    uid: z.string().nullish(),
    // Go omits an empty map, and a hand-made client may send null.
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z.looseObject({ volumes: z.array(podVolumeSchema).nullish() }),
});
export type ExtenderPod = z.infer<typeof extenderPodSchema>;

const extenderNodeSchema = z.looseObject({ metadata: z.looseObject({ name: z.string().min(1) }) });
export type ExtenderNode = z.infer<typeof extenderNodeSchema>;

/** A v1.NodeList; Go marshals a nil `items` slice as null. */
const nodeListSchema = z.looseObject({ items: z.array(extenderNodeSchema).nullable() });

/**
 * `ExtenderArgs`: the pod and its candidate nodes, as full objects (`Nodes`,
 * nodeCacheCapable false) or as names (`NodeNames`, nodeCacheCapable true).
 */
export const extenderArgsSchema = z
  .object({
    Pod: extenderPodSchema,
    Nodes: nodeListSchema.nullish(),
    NodeNames: z.array(z.string().min(1)).nullish(),
  })
  .refine((a) => a.Nodes != null || a.NodeNames != null, { message: "one of Nodes or NodeNames is required", path: ["NodeNames"] });
export type ExtenderArgs = z.infer<typeof extenderArgsSchema>;

/** `FailedNodesMap`: node name → why the pod cannot go there. */
export type FailedNodesMap = Record<string, string>;

/** `ExtenderFilterResult`: the passing nodes in the form they came in, and the rest with reasons. */
export interface ExtenderFilterResult {
  Nodes: { items: ExtenderNode[] } | null;
  NodeNames: string[] | null;
  FailedNodes: FailedNodesMap;
  /** Nodes preemption cannot help: a node without working storage stays so whatever is evicted. */
  FailedAndUnresolvableNodes: FailedNodesMap;
  Error: string;
}

/** One entry of `HostPriorityList`. */
export interface HostPriority {
  Host: string;
  Score: number;
}

/** The candidate node names of a request, in the scheduler's order. */
export function candidateNames(args: ExtenderArgs): string[] {
  if (args.NodeNames != null) return [...args.NodeNames];
  return (args.Nodes?.items ?? []).map((n) => n.metadata.name);
}

/** The filter answer in the form the request used: node objects back for `Nodes`, names for `NodeNames`. */
export function filterResult(args: ExtenderArgs, passing: ReadonlySet<string>, unresolvable: FailedNodesMap, error = ""): ExtenderFilterResult {
  const common = { FailedNodes: {}, FailedAndUnresolvableNodes: unresolvable, Error: error };
  if (args.NodeNames != null) return { ...common, Nodes: null, NodeNames: args.NodeNames.filter((n) => passing.has(n)) };
  return { ...common, Nodes: { items: (args.Nodes?.items ?? []).filter((n) => passing.has(n.metadata.name)) }, NodeNames: null };
}

/** `path.to.field: message` for each problem, so a 400 names what was wrong. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "body"}: ${i.message}`).join("; ");
}
