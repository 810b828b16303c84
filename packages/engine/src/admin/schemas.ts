/**
 * The node admin API: a small JSON-over-HTTP control surface on loopback,
 * used by the `stowage-engine` CLI. Both sides validate with these schemas,
 * so a version skew shows up as a clear validation error, not a misread field.
 */
import { volumeNameSchema } from "@stowage/vocabulary";
import { z } from "zod";

export const ADMIN_API_VERSION = "v1";

/** Volume and snapshot names: the shared rule (a DNS label that may hold '.'), as they become NBD export names, file names and Kubernetes names. */
export const nameSchema = volumeNameSchema;

export const volumeSchema = z.object({
  name: nameSchema,
  size: z.number().int().positive(),
  encrypted: z.boolean(),
  /** Bytes actually allocated in the pool (thin provisioning), when the backend knows. */
  allocated: z.number().int().nonnegative().optional(),
  snapshots: z.number().int().nonnegative().optional(),
});
export type VolumeDto = z.infer<typeof volumeSchema>;

/** A volume's size in bytes: whole 4 KiB blocks. */
export const volumeSizeSchema = z
  .number()
  .int()
  .positive()
  .refine((n) => n % 4096 === 0, "size must be a multiple of 4096");

export const createVolumeRequestSchema = z.object({
  name: nameSchema,
  size: volumeSizeSchema,
  /** Encrypt at rest; the data key is wrapped by the key-encryption key in `keyFile` (read by the node, never sent). */
  encryption: z.object({ keyFile: z.string().min(1) }).optional(),
});
export type CreateVolumeRequest = z.infer<typeof createVolumeRequestSchema>;

export const snapshotSchema = z.object({
  volume: nameSchema,
  name: nameSchema,
  createdAt: z.string(),
});
export type SnapshotDto = z.infer<typeof snapshotSchema>;

export const createSnapshotRequestSchema = z.object({ name: nameSchema });

export const scrubRequestSchema = z.object({ volume: nameSchema.optional() });

export const scrubReportSchema = z.object({
  volumes: z.number().int().nonnegative(),
  blocksChecked: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  repaired: z.number().int().nonnegative(),
  details: z.array(z.object({ volume: z.string(), offset: z.number().int().nonnegative(), problem: z.string() })),
});
export type ScrubReport = z.infer<typeof scrubReportSchema>;

export const statusSchema = z.object({
  version: z.literal(ADMIN_API_VERSION),
  pool: z.object({ path: z.string(), backend: z.string(), capacity: z.number().optional(), used: z.number().optional() }),
  nbd: z.object({
    tcp: z.string().optional(),
    socket: z.string().optional(),
    exports: z.array(z.string()),
    connections: z.number().int().nonnegative(),
    requests: z.number().int().nonnegative(),
    bytesRead: z.number().int().nonnegative(),
    bytesWritten: z.number().int().nonnegative(),
    errors: z.number().int().nonnegative(),
  }),
});
export type StatusDto = z.infer<typeof statusSchema>;

export const listSchema = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

/**
 * NO_TARGET: a replicated volume has no target serving it now (none assigned, its node down,
 * or not attached yet). FENCED: the target handling the request was superseded by a newer one.
 */
/** ACCESS_DENIED: the HTTPS endpoint's answer (403) to a client certificate that is not an admin one. */
export const errorCodeSchema = z.enum(["INVALID", "NOT_FOUND", "EXISTS", "BUSY", "NO_SPACE", "UNSUPPORTED", "NO_TARGET", "FENCED", "INTERNAL", "ACCESS_DENIED"]);
export type AdminErrorCode = z.infer<typeof errorCodeSchema>;

export const errorBodySchema = z.object({
  error: z.object({ code: errorCodeSchema, message: z.string(), details: z.unknown().optional() }),
});

export const okSchema = z.object({ ok: z.literal(true) });
