import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createAdminServer, type NodeAdminOperations } from "../admin/server";
import { createLogger } from "../logger";
import { poolRoutesElsewhere } from "./admin-routes";

/** What a cluster-mode node serves of the single-node endpoint, without a cluster behind it. */
const ops: NodeAdminOperations = {
  status: () => Promise.reject(new Error("not under test")),
  listVolumes: () => Promise.resolve([]),
  deleteVolume: () => Promise.resolve(),
};

const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

describe("a cluster-mode node's single-node routes", () => {
  const server = createAdminServer(ops, createLogger({ level: "error", write: () => undefined }), poolRoutesElsewhere);
  let base = "";

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("unexpected admin address");
    base = `http://127.0.0.1:${bound.port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; code: string; message: string }> {
    const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
    const { error } = errorBodySchema.parse(await res.json());
    return { status: res.status, code: error.code, message: error.message };
  }

  it("answers what it has no pool volumes for with UNSUPPORTED and what to use instead", async () => {
    const create = await call("POST", "/v1/volumes", { name: "db", size: 4096 });
    expect(create).toMatchObject({ status: 501, code: "UNSUPPORTED" });
    expect(create.message).toMatch(/cluster volume create/);
    for (const [method, path] of [
      ["GET", "/v1/volumes/db/snapshots"],
      ["POST", "/v1/volumes/db/snapshots"],
      ["DELETE", "/v1/volumes/db/snapshots/s1"],
    ] as const) {
      const r = await call(method, path, method === "POST" ? { name: "s1" } : undefined);
      expect(r).toMatchObject({ status: 501, code: "UNSUPPORTED" });
      expect(r.message).toMatch(/\/v1\/cluster\/volumes\/:volume\/snapshots/);
    }
    const scrub = await call("POST", "/v1/scrub", {});
    expect(scrub).toMatchObject({ status: 501, code: "UNSUPPORTED" });
  });

  it("refuses an invalid volume name before saying where snapshots are", async () => {
    expect(await call("GET", "/v1/volumes/bad%20name!/snapshots")).toMatchObject({ status: 400, code: "INVALID" });
  });

  it("serves the operations every node has", async () => {
    const res = await fetch(`${base}/v1/volumes`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [] });
  });
});
