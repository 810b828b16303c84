import { commandsResponseSchema } from "@stowage/agent-protocol";
import { defaultSnapshotName } from "@stowage/vocabulary";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentRequest, batch, inventory, registerCluster, sendBatch, testClock, type TestCluster } from "../../test-support/agent";
import { at, BASE_URL, callerFor, createApiKey, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../../test-support/fixtures";

const clock = testClock(new Date("2026-12-04T05:06:07.000Z"));
/** The longest volume name there is: its default snapshot name must shorten it. */
const LONG_VOLUME = `pvc-${"x".repeat(58)}9`;

describe("snapshot names over REST", () => {
  let t: TestApi;
  let a: TestOrg;
  let c: TestCluster;
  let volumeId: string;
  let call: (name: string) => Promise<Response>;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    a = await createOrgWithRoles(t.api, "alpha");
    c = await registerCluster(t.api, a.id, "east");
    const inv = inventory({ nodes: 2, volumes: 1 });
    inv.volumes = inv.volumes.map((v) => ({ ...v, name: LONG_VOLUME }));
    expect((await sendBatch(t.api, c.credential, batch({ inventory: inv }))).status).toBe(200);
    volumeId = (await callerFor(t.api, a.users.viewer, a.id).volume.list({ clusterId: c.clusterId })).items[0]?.id ?? "";
    const key = await createApiKey(t.api, a.id, "operator");
    call = (name) =>
      t.api.handlers.rest(
        new Request(`${BASE_URL}/api/v1/volumes/${volumeId}/snapshots`, {
          method: "POST",
          headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
          body: JSON.stringify({ name }),
        }),
      );
  });
  afterAll(async () => {
    await t.close();
  });

  it("refuses a 64-character name, naming the field", async () => {
    expect(LONG_VOLUME).toHaveLength(63);
    const res = await call("s".repeat(64));
    // Invalid fields are 422 VALIDATION_FAILED throughout the REST API (400 is for bodies that do not parse).
    expect(res.status).toBe(422);
    const body: unknown = await res.json();
    expect(at(body, "error.code")).toBe("VALIDATION_FAILED");
    expect(at(body, "error.details.0.path")).toBe("name");
    expect(at(body, "error.details.0.message")).toMatch(/1-63 lowercase letters/);
  });

  it("accepts the dashboard's default name for a 63-character volume, and the agent gets a command it can parse", async () => {
    const name = defaultSnapshotName(LONG_VOLUME, clock.now());
    const res = await call(name);
    expect(res.status).toBe(200);
    expect(at(await res.json(), "params.name")).toBe(name);

    const delivered = await t.api.handlers.agent(agentRequest("/commands?waitSeconds=0", { credential: c.credential }));
    expect(delivered.status).toBe(200);
    const { commands } = commandsResponseSchema.parse(await delivered.json());
    expect(commands.map((cmd) => (cmd.type === "snapshot.create" ? cmd.params.name : null))).toEqual([name]);
  });
});
