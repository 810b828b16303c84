import type { AppRouter } from "@stowage/api";
import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { fieldIssues, formErrors, sentence } from "./form";

/** The error a tRPC client raises for a response shaped by the API's error formatter. */
function apiError(message: string, details: unknown): TRPCClientError<AppRouter> {
  return TRPCClientError.from<AppRouter>({
    error: { message, code: -32603, data: { code: "CONFLICT", httpStatus: 409, path: "cluster.create", appCode: "CONFLICT", details } },
  });
}

describe("form errors from the API", () => {
  it("reads the details a tRPC error carries in data", () => {
    const err = apiError('A cluster named "east" already exists', [{ path: "name", message: "already in use" }]);
    expect(fieldIssues(err)).toEqual([{ path: "name", message: "already in use" }]);
    expect(fieldIssues(new Error("plain"))).toEqual([]);
    expect(fieldIssues(apiError("x", null))).toEqual([]);
    expect(fieldIssues(apiError("x", { retryAfter: 3 }))).toEqual([]);
  });

  it("puts a detail next to the field with its path, and no message above the form", () => {
    const err = apiError('A cluster named "east" already exists', [{ path: "name", message: "already in use" }]);
    expect(formErrors(err, ["name"])).toEqual({ fields: { name: "Already in use." }, message: null });
  });

  it("gives nested paths to the field they start with, and keeps the first issue of a field", () => {
    const err = apiError("Invalid input", [
      { path: "spec.size", message: "too small" },
      { path: "spec", message: "later" },
    ]);
    expect(formErrors(err, ["spec"]).fields).toEqual({ spec: "Too small." });
  });

  it("shows above the form what no field can show", () => {
    const err = apiError("Invalid input: role: not allowed", [
      { path: "name", message: "too long" },
      { path: "role", message: "not allowed" },
    ]);
    expect(formErrors(err, ["name"])).toEqual({ fields: { name: "Too long." }, message: "role: not allowed" });
  });

  it("shows the error's message when it names no field of the form", () => {
    expect(formErrors(apiError("This needs the operator role", null), ["name"])).toEqual({ fields: {}, message: "This needs the operator role" });
    expect(formErrors(new Error("Network down"), ["name"])).toEqual({ fields: {}, message: "Network down" });
    expect(formErrors(null, ["name"])).toEqual({ fields: {}, message: null });
  });

  it("writes field messages as sentences", () => {
    expect(sentence("already a member")).toBe("Already a member.");
    expect(sentence("Too big.")).toBe("Too big.");
    expect(sentence("")).toBe("");
  });
});
