import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AppError, ERROR_TABLE, issuesToDetails } from "./errors";
import { reshapeErrorBody } from "./rest/errors";
import { describeError } from "./trpc";

describe("error mapping", () => {
  it("maps every application code to an HTTP status and a tRPC code", () => {
    for (const [code, row] of Object.entries(ERROR_TABLE)) {
      expect(row.http, code).toBeGreaterThanOrEqual(400);
      expect(row.trpc, code).toMatch(/^[A-Z_]+$/);
    }
    expect(ERROR_TABLE.VALIDATION_FAILED.http).toBe(422);
    expect(ERROR_TABLE.NOT_FOUND.http).toBe(404);
  });

  it("keeps an AppError's code, message and details", () => {
    const err = new TRPCError({ code: "CONFLICT", message: "x", cause: new AppError("CONFLICT", "name taken", [{ path: "name", message: "already in use" }]) });
    expect(describeError(err)).toEqual({ code: "CONFLICT", message: "name taken", details: [{ path: "name", message: "already in use" }] });
  });

  it("names the invalid fields of a zod failure", () => {
    const parsed = z.object({ name: z.string(), spec: z.object({ replicas: z.number().max(3) }) }).safeParse({ spec: { replicas: 9 } });
    expect(parsed.success).toBe(false);
    const err = new TRPCError({ code: "BAD_REQUEST", cause: parsed.error });
    const d = describeError(err);
    expect(d.code).toBe("VALIDATION_FAILED");
    expect(d.details).toEqual([expect.objectContaining({ path: "name" }), expect.objectContaining({ path: "spec.replicas" })]);
    expect(d.message).toMatch(/^Invalid input: name: /);
  });

  it("never passes a raw internal message on", () => {
    const err = new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: 'relation "secret_table" does not exist', cause: new Error("password=hunter2") });
    expect(describeError(err)).toEqual({ code: "INTERNAL", message: "Internal server error", details: null });
    const rest = reshapeErrorBody(500, JSON.stringify({ message: "SELECT * FROM api_key", data: { appCode: "INTERNAL", details: { sql: "x" } } }));
    expect(rest).toEqual({ status: 500, body: { error: { code: "INTERNAL", message: "Internal server error", details: null } } });
    // An unreadable body is still answered in the error shape.
    expect(reshapeErrorBody(502, "<html>")).toMatchObject({ status: 500, body: { error: { code: "INTERNAL" } } });
  });

  it("formats issue paths with dots", () => {
    expect(issuesToDetails([{ path: ["a", 0, "b"], message: "m" }, { message: "root" }])).toEqual([
      { path: "a.0.b", message: "m" },
      { path: "", message: "root" },
    ]);
  });
});
