/**
 * StorageClass parameters of a Stowage volume: validated with
 * zod, each failure naming the parameter. Keys of the sidecars'
 * `csi.storage.k8s.io/` namespace are theirs; `csi.storage.k8s.io/fstype` is
 * honoured, the rest (PVC name and namespace, secret references) ignored.
 */
import { dnsSubdomainSchema } from "@stowage/vocabulary";
import { z } from "zod";
import { invalidArgument } from "./errors";
import { FS_TYPES, type FsType } from "./capabilities";

const SIDECAR_PREFIX = "csi.storage.k8s.io/";
const SIDECAR_FSTYPE = "csi.storage.k8s.io/fstype";

const boolString = (name: string) => z.enum(["true", "false"], { error: `parameter ${name} must be "true" or "false"` }).transform((v) => v === "true");

const parametersSchema = z.strictObject(
  {
    replicas: z
      .enum(["1", "2", "3"], { error: 'parameter replicas must be "1", "2" or "3"' })
      .default("3")
      .transform((v) => Number(v)),
    zoneSpread: boolString("zoneSpread").default(true),
    encrypted: boolString("encrypted").default(false),
    encryptionKey: dnsSubdomainSchema.optional(),
    fsType: z.enum(FS_TYPES, { error: `parameter fsType must be ${FS_TYPES.join(" or ")}` }).optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? `unknown parameter ${issue.keys.join(", ")}` : undefined) },
);

export interface VolumeParameters {
  replicas: number;
  zoneSpread: boolean;
  encrypted: boolean;
  encryptionKey?: string;
  /** From `fsType` or `csi.storage.k8s.io/fstype`; undefined when neither is given. */
  fsType?: FsType;
}

/** The parameters, or INVALID_ARGUMENT naming the first bad one. */
export function parseParameters(raw: Record<string, string>): VolumeParameters {
  const own: Record<string, string> = {};
  let sidecarFs: string | undefined;
  for (const [k, v] of Object.entries(raw)) {
    if (k === SIDECAR_FSTYPE) sidecarFs = v;
    else if (!k.startsWith(SIDECAR_PREFIX)) own[k] = v;
  }
  const parsed = parametersSchema.safeParse(own);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path[0];
    const message = issue?.message ?? "invalid parameters";
    throw invalidArgument(key === "encryptionKey" ? `parameter encryptionKey: ${message}` : message);
  }
  const p = parsed.data;
  if (sidecarFs !== undefined && sidecarFs !== "" && !(FS_TYPES as readonly string[]).includes(sidecarFs)) {
    throw invalidArgument(`parameter ${SIDECAR_FSTYPE} must be ${FS_TYPES.join(" or ")}`);
  }
  if (p.encryptionKey !== undefined && !p.encrypted) throw invalidArgument('parameter encryptionKey needs encrypted "true"');
  const fsType = p.fsType ?? (sidecarFs === "ext4" || sidecarFs === "xfs" ? sidecarFs : undefined);
  return {
    replicas: p.replicas,
    zoneSpread: p.zoneSpread,
    encrypted: p.encrypted,
    ...(p.encryptionKey === undefined ? {} : { encryptionKey: p.encryptionKey }),
    ...(fsType === undefined ? {} : { fsType }),
  };
}
