import { readFileSync } from "node:fs";
import { INVOICE_STATUSES } from "@stowage/billing";
import { $Enums } from "@stowage/prisma";
import {
  ACTOR_TYPES,
  ALERT_KINDS,
  ALERT_SEVERITIES,
  ALERT_STATES,
  CLUSTER_STATUSES,
  COMMAND_STATES,
  NODE_STATUSES,
  POOL_HEALTHS,
  REPLICA_STATES,
  VOLUME_STATES,
} from "@stowage/vocabulary";
import { NAME_CASES } from "@stowage/vocabulary/name-cases";
import { describe, expect, it } from "vitest";
import { createClusterInput } from "./routers/cluster/create-cluster";
import { createSnapshotInput } from "./routers/snapshot/create-snapshot";
import { createVolumeInput } from "./routers/volume/create-volume";

// Prisma is the database's authority for these enums and the vocabulary is
// everyone else's; a migration that adds a member must add it to both.
describe("Prisma enums", () => {
  const pairs: [string, Record<string, string>, readonly string[]][] = [
    ["ClusterStatus", $Enums.ClusterStatus, CLUSTER_STATUSES],
    ["ActorType", $Enums.ActorType, ACTOR_TYPES],
    ["NodeStatus", $Enums.NodeStatus, NODE_STATUSES],
    ["PoolHealth", $Enums.PoolHealth, POOL_HEALTHS],
    ["VolumeState", $Enums.VolumeState, VOLUME_STATES],
    ["ReplicaState", $Enums.ReplicaState, REPLICA_STATES],
    ["CommandState", $Enums.CommandState, COMMAND_STATES],
    ["AlertKind", $Enums.AlertKind, ALERT_KINDS],
    ["AlertSeverity", $Enums.AlertSeverity, ALERT_SEVERITIES],
    ["AlertState", $Enums.AlertState, ALERT_STATES],
    // Invoice statuses are billing's vocabulary (@stowage/billing, shared with the portal).
    ["BillingInvoiceStatus", $Enums.BillingInvoiceStatus, INVOICE_STATUSES],
  ];

  it.each(pairs)("%s equals the vocabulary, member for member", (_name, prisma, vocabulary) => {
    expect(Object.values(prisma)).toEqual([...vocabulary]);
  });

  it("covers every enum of the schema", () => {
    expect(Object.keys($Enums).sort()).toEqual(pairs.map(([name]) => name).sort());
  });
});

// The API half of the walk through the layers; the agent's tests walk the same
// table through the protocol, the agent and the engine.
describe("names the API accepts", () => {
  const clusterId = "00000000-0000-4000-8000-000000000000";
  it.each(NAME_CASES)("$why: valid=$valid", ({ name, valid }) => {
    expect(createVolumeInput.safeParse({ clusterId, name, sizeBytes: 1 << 30 }).success).toBe(valid);
    expect(createSnapshotInput.safeParse({ id: clusterId, name }).success).toBe(valid);
  });

  it("hands the name on as sent", () => {
    expect(createSnapshotInput.parse({ id: clusterId, name: "before-upgrade" }).name).toBe("before-upgrade");
    expect(createClusterInput.safeParse({ name: " prod-east" }).success).toBe(false);
  });
});

describe("@stowage/api/client", () => {
  it("imports nothing but types from the server side", () => {
    const source = readFileSync(new URL("./client.ts", import.meta.url), "utf8");
    const imports = [...source.matchAll(/^(?:import|export)\b[^;]*?from\s+"([^"]+)"/gms)].map((m) => ({ statement: m[0], from: m[1] }));
    expect(imports.length).toBeGreaterThan(0);
    for (const { statement, from } of imports) {
      if (from === "@stowage/vocabulary") continue;
      expect(statement, `client.ts must import ${from} as types only`).toMatch(/^(import|export) type\b/);
    }
  });
});
