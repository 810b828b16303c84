import { describe, expect, it } from "vitest";
import { heartbeatRequestSchema, registerRequestSchema } from "./index";

describe("agent protocol v1", () => {
  it("accepts a well-formed register request", () => {
    const r = registerRequestSchema.safeParse({
      protocolVersion: 1,
      joinToken: "stj_abc",
      agentVersion: "0.1.0",
      instanceId: "7a1f4f4e-8f43-4c6a-9a56-1f0a3c7e2b11",
    });
    expect(r.success).toBe(true);
  });

  it("rejects another protocol version and names the field", () => {
    const r = registerRequestSchema.safeParse({
      protocolVersion: 2,
      joinToken: "stj_abc",
      agentVersion: "0.1.0",
      instanceId: "7a1f4f4e-8f43-4c6a-9a56-1f0a3c7e2b11",
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["protocolVersion"]);
  });

  it("rejects a heartbeat without a parseable timestamp", () => {
    const r = heartbeatRequestSchema.safeParse({ protocolVersion: 1, agentVersion: "0.1.0", sentAt: "yesterday" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["sentAt"]);
  });
});
