import type { ActorType } from "@stowage/vocabulary";

/** Who did something, as the audit log records it. */
export interface Actor {
  type: ActorType;
  id: string;
  label: string;
  ip: string | null;
  userAgent: string | null;
}

export function systemActor(label = "system"): Actor {
  return { type: "system", id: "system", label, ip: null, userAgent: null };
}
