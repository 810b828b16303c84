/**
 * zod schemas of the CSI message parts that several RPCs share, as
 * proto-loader decodes them (see proto.ts), turned into the plain types the
 * handlers work with. Each failure message names the field as the spec does.
 */
import { z } from "zod";

export const ACCESS_MODES = [
  "UNKNOWN",
  "SINGLE_NODE_WRITER",
  "SINGLE_NODE_READER_ONLY",
  "MULTI_NODE_READER_ONLY",
  "MULTI_NODE_SINGLE_WRITER",
  "MULTI_NODE_MULTI_WRITER",
  "SINGLE_NODE_SINGLE_WRITER",
  "SINGLE_NODE_MULTI_WRITER",
] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

export type AccessType = { kind: "block" } | { kind: "mount"; fsType: string; mountFlags: string[] };

export interface Capability {
  access: AccessType;
  mode: AccessMode;
}

export const stringMap = z.record(z.string(), z.string()).nullish().transform((m) => m ?? {});

/** A required string field: empty is the proto3 default, so empty means missing. */
export const required = (field: string) => z.string({ error: `${field} is required` }).min(1, `${field} is required`);

/** An int64 as proto-loader hands it over (a decimal string), as a number of bytes within 2^53. */
export const int64Bytes = (field: string) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const n = typeof value === "number" ? value : /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 0) {
      ctx.addIssue({ code: "custom", message: `${field} must be a non-negative integer of bytes below 2^53, got ${String(value)}` });
      return z.NEVER;
    }
    return n;
  });

export interface CapacityRange {
  /** 0 when not given. */
  requiredBytes: number;
  /** 0 when not given (no limit). */
  limitBytes: number;
}

export const capacityRangeSchema = z
  .object({ required_bytes: int64Bytes("capacity_range.required_bytes").default(0), limit_bytes: int64Bytes("capacity_range.limit_bytes").default(0) })
  .nullish()
  .transform((r): CapacityRange | null => (r ? { requiredBytes: r.required_bytes, limitBytes: r.limit_bytes } : null));

export function capabilitySchema(field: string) {
  return z
    .object(
      {
        block: z.object({}).nullish(),
        mount: z.object({ fs_type: z.string().default(""), mount_flags: z.array(z.string()).default([]) }).nullish(),
        access_mode: z.object({ mode: z.enum(ACCESS_MODES, { error: `${field}.access_mode.mode is not a known access mode` }) }).nullish(),
      },
      { error: `${field} is required` },
    )
    .transform((c, ctx): Capability => {
      let access: AccessType | null = null;
      if (c.mount) access = { kind: "mount", fsType: c.mount.fs_type, mountFlags: c.mount.mount_flags };
      else if (c.block) access = { kind: "block" };
      if (!access) ctx.addIssue({ code: "custom", message: `${field}.access_type is required: block or mount` });
      const mode = c.access_mode?.mode ?? "UNKNOWN";
      if (mode === "UNKNOWN") ctx.addIssue({ code: "custom", message: `${field}.access_mode is required` });
      return { access: access ?? { kind: "block" }, mode };
    });
}

export const topologySchema = z.object({ segments: stringMap });
export type Topology = Record<string, string>;

export const topologyRequirementSchema = z
  .object({ requisite: z.array(topologySchema).default([]), preferred: z.array(topologySchema).default([]) })
  .nullish()
  .transform((t) => ({ requisite: (t?.requisite ?? []).map((x) => x.segments), preferred: (t?.preferred ?? []).map((x) => x.segments) }));
export type TopologyRequirement = z.output<typeof topologyRequirementSchema>;

export type ContentSource = { kind: "snapshot"; snapshotId: string } | { kind: "volume"; volumeId: string };

export const contentSourceSchema = z
  .object({ snapshot: z.object({ snapshot_id: z.string() }).nullish(), volume: z.object({ volume_id: z.string() }).nullish() })
  .nullish()
  .transform((s, ctx): ContentSource | null => {
    if (!s) return null;
    if (s.snapshot) {
      if (!s.snapshot.snapshot_id) ctx.addIssue({ code: "custom", message: "volume_content_source.snapshot.snapshot_id is required" });
      return { kind: "snapshot", snapshotId: s.snapshot.snapshot_id };
    }
    if (s.volume) {
      if (!s.volume.volume_id) ctx.addIssue({ code: "custom", message: "volume_content_source.volume.volume_id is required" });
      return { kind: "volume", volumeId: s.volume.volume_id };
    }
    return null;
  });

/** Pagination as the spec has it: at most `max_entries` (0 = all), continuing from an opaque token. */
export const pageSchema = {
  max_entries: z.number().int().min(0, "max_entries must not be negative").default(0),
  starting_token: z.string().default(""),
};

/** The wire shapes we answer with (proto-loader encodes plain objects; int64 as decimal strings). */
export interface VolumeMessage {
  capacity_bytes: string;
  volume_id: string;
  volume_context: Record<string, string>;
  content_source: { snapshot: { snapshot_id: string } } | { volume: { volume_id: string } } | null;
  accessible_topology: { segments: Record<string, string> }[];
}

export interface VolumeConditionMessage {
  abnormal: boolean;
  message: string;
}

export interface SnapshotMessage {
  size_bytes: string;
  snapshot_id: string;
  source_volume_id: string;
  creation_time: { seconds: string; nanos: number };
  ready_to_use: boolean;
}

export function capabilityMessage(c: Capability): Record<string, unknown> {
  return {
    ...(c.access.kind === "mount" ? { mount: { fs_type: c.access.fsType, mount_flags: c.access.mountFlags } } : { block: {} }),
    access_mode: { mode: c.mode },
  };
}
