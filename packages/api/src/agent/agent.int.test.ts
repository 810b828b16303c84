import { randomUUID } from "node:crypto";
import { agentErrorSchema, heartbeatResponseSchema, registerResponseSchema } from "@stowage/agent-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../actor";
import { hashSecret } from "../lib/secrets";
import { BASE_URL, callerFor, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";

describe("agent API /api/agent/v1", () => {
  let t: TestApi;
  let a: TestOrg;
  let n = 0;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    t.api.handlers.agent(
      new Request(`${BASE_URL}/api/agent/v1${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "stowage-agent/0.1.0", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    );

  const newCluster = async () =>
    t.api.services.cluster.create({ organizationId: a.id, role: "owner", actor: systemActor("t") }, { name: `agent-${++n}` });

  const registerBody = (joinToken: string) => ({ protocolVersion: 1, joinToken, agentVersion: "0.1.0", kubernetesVersion: "v1.31.2", instanceId: randomUUID() });

  const errorCode = async (res: Response) => agentErrorSchema.parse(await res.json()).error;

  beforeAll(async () => {
    t = await createTestApi();
    a = await createOrgWithRoles(t.api, "alpha");
  });
  afterAll(async () => {
    await t.close();
  });

  it("registers with a join token, connects the cluster and audits it as the agent", async () => {
    const join = await newCluster();
    const res = await post("/register", registerBody(join.joinToken));
    expect(res.status).toBe(200);
    const body = registerResponseSchema.parse(await res.json());
    expect(body).toMatchObject({ clusterId: join.cluster.id, organizationId: a.id, clusterName: join.cluster.name });
    const cluster = await callerFor(t.api, a.users.viewer, a.id).cluster.get({ id: join.cluster.id });
    expect(cluster).toMatchObject({ status: "connected", agentVersion: "0.1.0", kubernetesVersion: "v1.31.2" });
    // Only the hash is stored.
    const cred = await t.api.prisma.clusterCredential.findFirstOrThrow({ where: { clusterId: join.cluster.id } });
    expect(cred.secretHash).toBe(hashSecret(body.credential));
    const audit = await callerFor(t.api, a.users.admin, a.id).audit.list({ action: "cluster.register", targetId: join.cluster.id });
    expect(audit.items[0]).toMatchObject({ actor: { type: "agent", id: join.cluster.id }, userAgent: "stowage-agent/0.1.0" });
  });

  it("refuses a join token used twice with JOIN_TOKEN_USED, even when both race", async () => {
    const join = await newCluster();
    const [r1, r2] = await Promise.all([post("/register", registerBody(join.joinToken)), post("/register", registerBody(join.joinToken))]);
    expect([r1.status, r2.status].sort()).toEqual([200, 409]);
    const loser = r1.status === 409 ? r1 : r2;
    expect((await errorCode(loser)).code).toBe("JOIN_TOKEN_USED");
    const again = await post("/register", registerBody(join.joinToken));
    expect(again.status).toBe(409);
    expect((await errorCode(again)).code).toBe("JOIN_TOKEN_USED");
    expect(await t.api.prisma.clusterCredential.count({ where: { clusterId: join.cluster.id } })).toBe(1);
  });

  it("refuses an expired join token with JOIN_TOKEN_EXPIRED and an unknown one with JOIN_TOKEN_INVALID", async () => {
    const join = await newCluster();
    await t.api.prisma.clusterJoinToken.updateMany({ where: { clusterId: join.cluster.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await post("/register", registerBody(join.joinToken));
    expect(expired.status).toBe(410);
    expect((await errorCode(expired)).code).toBe("JOIN_TOKEN_EXPIRED");
    const unknown = await post("/register", registerBody("stj_doesnotexist"));
    expect(unknown.status).toBe(401);
    expect((await errorCode(unknown)).code).toBe("JOIN_TOKEN_INVALID");
  });

  it("takes heartbeats on the credential, with the server clock authoritative", async () => {
    const join = await newCluster();
    const reg = registerResponseSchema.parse(await (await post("/register", registerBody(join.joinToken))).json());
    const agentClock = new Date(Date.now() - 5_000).toISOString();
    const res = await post("/heartbeat", { protocolVersion: 1, agentVersion: "0.1.1", sentAt: agentClock }, { authorization: `Bearer ${reg.credential}` });
    expect(res.status).toBe(200);
    const hb = heartbeatResponseSchema.parse(await res.json());
    expect(hb.clusterId).toBe(join.cluster.id);
    expect(hb.clockSkewMs).toBeGreaterThanOrEqual(5_000);
    expect(hb.clockSkewMs).toBeLessThan(60_000);
    const cluster = await t.api.prisma.cluster.findUniqueOrThrow({ where: { id: join.cluster.id } });
    expect(cluster.agentVersion).toBe("0.1.1");
    expect(cluster.lastHeartbeatAt?.toISOString()).toBe(hb.serverTime);
  });

  it("answers 401 to a heartbeat with a missing, wrong or superseded credential", async () => {
    const body = { protocolVersion: 1, agentVersion: "0.1.0", sentAt: new Date().toISOString() };
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer stc_wrong" }, { authorization: "Bearer stk_not-a-credential" }];
    for (const headers of attempts) {
      const res = await post("/heartbeat", body, headers);
      expect(res.status).toBe(401);
      expect((await errorCode(res)).code).toBe("UNAUTHORIZED");
    }
    // Registering again (a reinstall) replaces the old credential.
    const join = await newCluster();
    const first = registerResponseSchema.parse(await (await post("/register", registerBody(join.joinToken))).json());
    const second = await callerFor(t.api, a.users.operator, a.id).cluster.createJoinToken({ id: join.cluster.id });
    expect((await post("/register", registerBody(second.joinToken))).status).toBe(200);
    expect((await post("/heartbeat", body, { authorization: `Bearer ${first.credential}` })).status).toBe(401);
  });

  it("answers malformed JSON with 400, an invalid field with 422 naming it, and other protocol versions clearly", async () => {
    const malformed = await post("/register", "{not json");
    expect(malformed.status).toBe(400);
    expect((await errorCode(malformed)).code).toBe("INVALID_REQUEST");

    const invalid = await post("/register", { protocolVersion: 1, joinToken: "stj_x", agentVersion: "0.1.0", instanceId: "not-a-uuid" });
    expect(invalid.status).toBe(422);
    const err = await errorCode(invalid);
    expect(err.code).toBe("INVALID_REQUEST");
    expect(err.details).toEqual([expect.objectContaining({ path: "instanceId" })]);

    const v2 = await post("/register", { ...registerBody("stj_x"), protocolVersion: 2 });
    expect(v2.status).toBe(400);
    expect((await errorCode(v2)).code).toBe("UNSUPPORTED_PROTOCOL_VERSION");
  });

  it("rejects an oversized body with 413 and unknown paths with 404", async () => {
    const huge = await post("/register", { ...registerBody("stj_x"), padding: "x".repeat(64 * 1024) });
    expect(huge.status).toBe(413);
    expect((await errorCode(huge)).code).toBe("PAYLOAD_TOO_LARGE");
    expect((await post("/nope", {})).status).toBe(404);
    const get = await t.api.handlers.agent(new Request(`${BASE_URL}/api/agent/v1/heartbeat`));
    expect(get.status).toBe(405);
  });
});
