import type { AgentErrorCode } from "@stowage/agent-protocol";

/** A refusal in the agent protocol's own vocabulary (codes from @stowage/agent-protocol). */
export class AgentProtocolError extends Error {
  override readonly name = "AgentProtocolError";
  constructor(
    readonly code: AgentErrorCode,
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
