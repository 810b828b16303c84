import { describe, expect, it } from "vitest";
import { API_KEY_ROLES, COMMAND_STATES, isOneOf, isRole, isTerminalCommandState, ROLES, roleAtLeast, roleSchema } from "./states";

describe("roles", () => {
  it("are ordered weakest first", () => {
    expect(ROLES).toEqual(["viewer", "operator", "admin", "owner"]);
    expect(roleAtLeast("admin", "operator")).toBe(true);
    expect(roleAtLeast("operator", "admin")).toBe(false);
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
