import { describe, expect, it } from "vitest";
import { API_KEY_ROLES, BILLING_ROLES, COMMAND_STATES, isOneOf, isRole, isTerminalCommandState, ROLES, roleAtLeast, roleSchema } from "./states";

describe("roles", () => {
  it("are ordered weakest first", () => {
    expect(ROLES).toEqual(["viewer", "billing", "operator", "admin", "owner"]);
    expect(roleAtLeast("admin", "operator")).toBe(true);
    expect(roleAtLeast("operator", "admin")).toBe(false);
  });

  it("put billing beside the cluster ladder: above viewer, below admin, incomparable with operator", () => {
    expect(roleAtLeast("billing", "viewer")).toBe(true);
    expect(roleAtLeast("billing", "operator")).toBe(false);
    expect(roleAtLeast("operator", "billing")).toBe(false);
    expect(roleAtLeast("viewer", "billing")).toBe(false);
    expect(roleAtLeast("admin", "billing")).toBe(true);
    expect(roleAtLeast("owner", "billing")).toBe(true);
    expect(BILLING_ROLES.filter((r) => !roleAtLeast(r, "billing"))).toEqual([]);
    // Every other pair keeps the ladder's order.
    const ladder = ["viewer", "operator", "admin", "owner"] as const;
    for (const a of ladder) for (const b of ladder) expect(roleAtLeast(a, b)).toBe(ladder.indexOf(a) >= ladder.indexOf(b));
  });

  it("give API keys every role but owner", () => {
    expect(API_KEY_ROLES).toEqual(ROLES.filter((r) => r !== "owner"));
  });

  it("recognise only their own names", () => {
    expect(isRole("owner")).toBe(true);
    expect(isRole("root")).toBe(false);
    expect(roleSchema.safeParse("Owner").success).toBe(false);
  });
});

describe("command states", () => {
  it("are terminal only once finished", () => {
    expect(COMMAND_STATES.filter(isTerminalCommandState)).toEqual(["succeeded", "failed", "expired"]);
  });

  it("narrow strings with isOneOf", () => {
    expect(isOneOf(COMMAND_STATES, "running")).toBe(true);
    expect(isOneOf(COMMAND_STATES, "done")).toBe(false);
  });
});
