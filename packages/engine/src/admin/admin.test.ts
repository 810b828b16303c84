import type http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINE_ERROR_CODES, EngineError } from "../errors";
import { createLogger } from "../logger";
import { freePort } from "../util/free-port";
import { adminApi, routeMatcher, routePath } from "./api";
import { AdminClient } from "./client";
import { ClusterAdminClient } from "./cluster-client";
import { ADMIN_ERRORS } from "./errors";
import { errorCodeSchema, type StatusDto } from "./schemas";
import { createAdminServer, type AdminOperations } from "./server";

const status: StatusDto = {
  version: "v1",
  pool: { path: "/pool", backend: "test" },
  nbd: { exports: [], connections: 0, requests: 0, bytesRead: 0, bytesWritten: 0, errors: 0 },
};

/** A node whose volume operations fail with the code named by the volume: `delete` of "no-space" throws NO_SPACE. */
function failingOps(): AdminOperations {
  const fail = (name: string): never => {
    const code = ENGINE_ERROR_CODES.find((c) => c === name.toUpperCase().replaceAll("-", "_"));
    throw new EngineError(code ?? "INTERNAL", `failed with ${name}`);
  };
  return {
    status: () => Promise.resolve(status),
    listVolumes: () => Promise.resolve([]),
    createVolume: (r) => Promise.resolve(fail(r.name)),
    deleteVolume: (name) => Promise.resolve(fail(name)),
    listSnapshots: () => Promise.resolve([]),
    createSnapshot: (volume) => Promise.resolve(fail(volume)),
    deleteSnapshot: (volume) => Promise.resolve(fail(volume)),
    scrub: () => Promise.reject(new Error("disk on fire at /dev/sda")),
  };
}

describe("route table", () => {
  it("fills in and encodes path parameters, and matches what it builds", () => {
    const path = routePath(adminApi.deleteClusterSnapshot, { volume: "v1", snapshot: "a b" });
    expect(path).toBe("/v1/cluster/volumes/v1/snapshots/a%20b");
    const { method, pattern } = routeMatcher(adminApi.deleteClusterSnapshot);
    expect(method).toBe("DELETE");
    expect(pattern.exec(path)?.slice(1)).toEqual(["v1", "a%20b"]);
    expect(pattern.test(routePath(adminApi.clusterSnapshots, { volume: "v1" }))).toBe(false);
    expect(routeMatcher(adminApi.clusterIoStats).pattern.test("/v1/cluster/io-stats")).toBe(true);
  });

  it("has one entry per method and path", () => {
    const keys = Object.values(adminApi).map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe("error table", () => {
  it("gives every engine error code a status and a wire code the clients know", () => {
    for (const code of ENGINE_ERROR_CODES) {
      const mapped = ADMIN_ERRORS[code];
      expect(mapped.status, code).toBeGreaterThanOrEqual(400);
      expect(errorCodeSchema.safeParse(mapped.code).success, code).toBe(true);
    }
    expect(ADMIN_ERRORS.CLOSED).toEqual({ status: 409, code: "BUSY" });
    expect(ADMIN_ERRORS.WRONG_KEY).toEqual({ status: 400, code: "INVALID" });
    expect(ADMIN_ERRORS.NO_TARGET).toEqual({ status: 503, code: "NO_TARGET" });
  });
});

describe("admin server and client", () => {
  let server: http.Server;
  let address: string;
  const logged: string[] = [];

  beforeAll(async () => {
    server = createAdminServer(failingOps(), createLogger({ level: "debug", write: (line) => logged.push(line) }));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port }, resolve));
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ["not-found", 404, "NOT_FOUND"],
    ["closed", 409, "BUSY"],
    ["overcommit", 507, "NO_SPACE"],
    ["key-not-found", 400, "INVALID"],
    ["fenced", 409, "FENCED"],
  ])("answers an EngineError %s with its status and wire code, and the client throws it back", async (name, httpStatus, wire) => {
    const res = await fetch(`http://${address}${routePath(adminApi.deleteVolume, { volume: name })}`, { method: "DELETE" });
    expect(res.status).toBe(httpStatus);
    expect(await res.json()).toEqual({ error: { code: wire, message: `failed with ${name}` } });
    const err: unknown = await new AdminClient(address).deleteVolume(name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: wire, message: `failed with ${name}` });
  });

  it("answers a 500 without the message of an error it does not know, and logs it", async () => {
    const err: unknown = await new AdminClient(address).scrub().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "INTERNAL", message: "internal error; see the node log" });
    expect(logged.some((l) => l.includes("disk on fire"))).toBe(true);
  });

  it("answers a 500 for an EngineError whose code maps to 500, without its message", async () => {
    const err: unknown = await new AdminClient(address).deleteSnapshot("corrupt", "s1").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "INTERNAL", message: "internal error; see the node log" });
  });

  it("tries the next endpoint when one cannot be reached, and keeps asking the one that answered", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const client = new AdminClient([dead, address]);
    expect((await client.status()).pool.backend).toBe("test");
    expect(client.address).toBe(address);
  });

  it("says UNREACHABLE when no endpoint answers", async () => {
    const dead = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const err: unknown = await new ClusterAdminClient(dead).volumes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: "UNREACHABLE" });
  });

  it("says PROTOCOL for an answer of the wrong shape, NOT_FOUND for a route the node lacks", async () => {
    // A single-node server has no cluster routes: its 404 comes with an error body.
    const client = new ClusterAdminClient(address);
    expect(await client.volume("v1")).toBeNull();
    expect(await client.ioStats(address)).toEqual([]);
    const wrong = { ...adminApi.status, response: adminApi.clusterVolumes.response };
    const err: unknown = await new AdminClient(address).call(wrong).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "PROTOCOL" });
  });
});
