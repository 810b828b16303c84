/**
 * The zod schemas of Stowage's custom resources: the same schemas parse
 * objects from the API server (informers, status writes) and generate the
 * CRDs' OpenAPI schemas (crds.ts), so the two cannot drift.
 */
import { z } from "zod";

export const STOWAGE_GROUP = "stowage.io";
export const STOWAGE_VERSION = "v1alpha1";

/** metav1.Condition, with the API server's own limits. */
export const conditionSchema = z.object({
  type: z
    .string()
    .max(316)
    .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/, "a CamelCase name, optionally prefixed by a DNS subdomain and '/'")
    .describe("Type of condition in CamelCase."),
  status: z.enum(["True", "False", "Unknown"]).describe("Status of the condition."),
  observedGeneration: z.number().int().min(0).optional().describe("The .metadata.generation the condition was set from."),
  lastTransitionTime: z.iso.datetime().describe("When the condition last changed status."),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, "a CamelCase reason")
    .describe("Programmatic identifier of the condition's last transition."),
  message: z.string().max(32768).describe("Human-readable details of the last transition."),
});
export type Condition = z.infer<typeof conditionSchema>;

/** A conditions list merged by type (server-side apply and strategic merge key on it). */
function conditionsOf<T extends string>(types: readonly [T, ...T[]]) {
  return z
    .array(conditionSchema.extend({ type: z.enum(types) }))
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
    .describe(`Conditions: ${types.join(", ")}.`);
}

/** The metadata fields our code reads; the rest is kept as sent. */
export const objectMetaSchema = z
  .object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: z.number().int().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .loose();

export const STORAGE_NODE_CONDITIONS = ["Ready", "Schedulable"] as const;
export type StorageNodeConditionType = (typeof STORAGE_NODE_CONDITIONS)[number];

const failureDomain = z.string().min(1).max(63).regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "a label value");

export const storageNodeSpecSchema = z.object({
  zone: failureDomain.optional().describe("Failure zone of the node (topology.stowage.io/zone)."),
  rack: failureDomain.optional().describe("Rack of the node (topology.stowage.io/rack)."),
  cordoned: z.boolean().default(false).describe("A cordoned node gets no new replicas; existing ones stay."),
});

export const storageNodeStatusSchema = z.object({
  phase: z.enum(["Up", "Down", "Unknown"]).describe("Whether the engine node is serving."),
  capacityBytes: z.number().int().min(0).describe("Pool capacity."),
  provisionedBytes: z.number().int().min(0).describe("Sum of the sizes of the replicas placed on the node."),
  volumes: z.number().int().min(0).describe("Replicas on the node."),
  engineVersion: z.string().max(64).optional().describe("Version of the engine the node runs."),
  conditions: conditionsOf(STORAGE_NODE_CONDITIONS).optional(),
});

export const storageNodeSchema = z.object({
  apiVersion: z.literal(`${STOWAGE_GROUP}/${STOWAGE_VERSION}`),
  kind: z.literal("StorageNode"),
  metadata: objectMetaSchema,
  spec: storageNodeSpecSchema.default({ cordoned: false }),
  status: storageNodeStatusSchema.optional(),
});
export type StorageNode = z.infer<typeof storageNodeSchema>;
export type StorageNodeStatus = z.infer<typeof storageNodeStatusSchema>;

/** Parses a StorageNode from the wire; the error names the field. */
export function parseStorageNode(raw: unknown): StorageNode {
  const parsed = storageNodeSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid StorageNode: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "unknown error"}`);
  }
  return parsed.data;
}
