/**
 * Scheduler extenders over HTTP, as kube-scheduler calls them (k8s.io/kube-scheduler/extender/v1):
 * POST `<urlPrefix>/<verb>` with `ExtenderArgs` {Pod, Nodes | NodeNames}; the Go structs have no json
 * tags, so the fields travel with their Go names. Answers are checked with zod.
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { z } from "zod";

export const extenderConfigSchema = z.object({
  urlPrefix: z.string().url(),
  filterVerb: z.string().min(1).optional(),
  prioritizeVerb: z.string().min(1).optional(),
  /** Multiplies the extender's 0..10 scores (then ×10, MaxNodeScore/MaxExtenderPriority). */
  weight: z.number().int().positive().default(1),
  /** A failing ignorable extender is skipped; any other fails the scheduling attempt. */
  ignorable: z.boolean().default(false),
  /** Sends NodeNames instead of full Node objects (the extender keeps its own node cache). */
  nodeCacheCapable: z.boolean().default(false),
  httpTimeoutMs: z.number().int().positive().default(30_000),
});
export type ExtenderConfig = z.input<typeof extenderConfigSchema>;
type ParsedExtenderConfig = z.output<typeof extenderConfigSchema>;

/** extenderv1.MaxExtenderPriority and framework.MaxNodeScore. */
export const maxExtenderPriority = 10;
export const maxNodeScore = 100;

const failedNodesSchema = z.record(z.string(), z.string()).nullish();
export const extenderFilterResultSchema = z.looseObject({
  Nodes: z.looseObject({ items: z.array(z.looseObject({ metadata: z.looseObject({ name: z.string() }) })).nullish() }).nullish(),
  NodeNames: z.array(z.string()).nullish(),
  FailedNodes: failedNodesSchema,
  FailedAndUnresolvableNodes: failedNodesSchema,
  Error: z.string().nullish(),
});
export const hostPriorityListSchema = z.array(z.looseObject({ Host: z.string(), Score: z.number() })).nullable();

export interface FilterOutcome {
  passed: string[];
  /** Node → reason, from FailedNodes and FailedAndUnresolvableNodes. */
  failed: Map<string, string>;
}

export class Extender {
  readonly config: ParsedExtenderConfig;

  constructor(config: ExtenderConfig) {
    const parsed = extenderConfigSchema.safeParse(config);
    if (!parsed.success) throw new Error(`invalid extender config: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    this.config = parsed.data;
  }

  private args(pod: V1Pod, nodes: readonly V1Node[]): object {
    return this.config.nodeCacheCapable ? { Pod: pod, NodeNames: nodes.map((n) => n.metadata?.name ?? "") } : { Pod: pod, Nodes: { metadata: {}, items: nodes } };
  }

  private async post(verb: string, body: object): Promise<unknown> {
    const url = `${this.config.urlPrefix.replace(/\/+$/, "")}/${verb}`;
    const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(this.config.httpTimeoutMs) });
    if (!res.ok) throw new Error(`extender ${url}: HTTP ${res.status}`);
    return res.json();
  }

  /** Undefined when it has no filter verb. Throws on transport, HTTP, shape or `Error` failures. */
  async filter(pod: V1Pod, nodes: readonly V1Node[]): Promise<FilterOutcome | undefined> {
    const verb = this.config.filterVerb;
    if (verb === undefined) return undefined;
    const parsed = extenderFilterResultSchema.safeParse(await this.post(verb, this.args(pod, nodes)));
    if (!parsed.success) throw new Error(`extender ${verb}: answer ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const r = parsed.data;
    if (r.Error) throw new Error(`extender ${verb}: ${r.Error}`);
    const passed = this.config.nodeCacheCapable && r.NodeNames != null ? r.NodeNames : (r.Nodes?.items ?? []).map((n) => n.metadata.name);
    const failed = new Map<string, string>([...Object.entries(r.FailedNodes ?? {}), ...Object.entries(r.FailedAndUnresolvableNodes ?? {})]);
    return { passed, failed };
  }

  /** Node → score already scaled (score × weight × MaxNodeScore/MaxExtenderPriority); undefined without a prioritize verb. */
  async prioritize(pod: V1Pod, nodes: readonly V1Node[]): Promise<Map<string, number> | undefined> {
    const verb = this.config.prioritizeVerb;
    if (verb === undefined) return undefined;
    const parsed = hostPriorityListSchema.safeParse(await this.post(verb, this.args(pod, nodes)));
    if (!parsed.success) throw new Error(`extender ${verb}: answer ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const scale = this.config.weight * (maxNodeScore / maxExtenderPriority);
    return new Map((parsed.data ?? []).map((h) => [h.Host, h.Score * scale]));
  }
}
