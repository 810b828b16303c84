/**
 * Which volume capabilities a Stowage volume supports. A volume is one block
 * device served by one target and attached on one node at a time, with a
 * single-writer file system on it, so only the SINGLE_NODE_* access modes fit,
 * for mount and block alike.
 */
import type { AccessMode, Capability } from "./messages";

export const FS_TYPES = ["ext4", "xfs"] as const;
export type FsType = (typeof FS_TYPES)[number];

export function isFsType(value: string): value is FsType {
  return (FS_TYPES as readonly string[]).includes(value);
}

const SINGLE_NODE: ReadonlySet<AccessMode> = new Set<AccessMode>(["SINGLE_NODE_WRITER", "SINGLE_NODE_SINGLE_WRITER", "SINGLE_NODE_MULTI_WRITER", "SINGLE_NODE_READER_ONLY"]);

export function isReadOnlyMode(mode: AccessMode): boolean {
  return mode === "SINGLE_NODE_READER_ONLY" || mode === "MULTI_NODE_READER_ONLY";
}

/** Why the capability cannot be served, or null when it can. */
export function unsupportedCapability(c: Capability): string | null {
  if (!SINGLE_NODE.has(c.mode)) return `access mode ${c.mode} is not supported: a Stowage volume is attached on one node at a time (use a SINGLE_NODE_* mode)`;
  if (c.access.kind === "mount" && c.access.fsType !== "" && !isFsType(c.access.fsType)) {
    return `fs_type ${c.access.fsType} is not supported (use ${FS_TYPES.join(" or ")})`;
  }
  return null;
}

/** The first reason any of `caps` cannot be served, or null. */
export function unsupportedCapabilities(caps: readonly Capability[]): string | null {
  for (const c of caps) {
    const why = unsupportedCapability(c);
    if (why) return why;
  }
  return null;
}
