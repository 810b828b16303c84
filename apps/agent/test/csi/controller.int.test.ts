/**
 * CSI conformance of the Identity and Controller services, written from the
 * spec, over the gRPC socket against a real engine cluster (zones a, b, c).
 */
import { status } from "@grpc/grpc-js";
import { pollUntil } from "@stowage/testing/poll";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockCap, call, expectStatus, MiB, mountCap, startCsiCluster, type CsiCluster } from "./fixture";

interface VolumeMsg {
  volume_id: string;
  capacity_bytes: string;
  volume_context: Record<string, string>;
  accessible_topology: { segments: Record<string, string> }[];
}
interface SnapshotMsg {
  snapshot_id: string;
  source_volume_id: string;
  size_bytes: string;
  ready_to_use: boolean;
  creation_time: { seconds: string };
}

const ZONE = "topology.stowage.io/zone";

describe("CSI identity and controller on a real engine cluster", () => {
  let c: CsiCluster;
  const create = (name: string, extra: object = {}) =>
    call<{ volume: VolumeMsg }>(c.controller, "CreateVolume", { name, capacity_range: { required_bytes: String(16 * MiB) }, volume_capabilities: [mountCap()], parameters: {}, ...extra });

  beforeAll(async () => {
    c = await startCsiCluster({ nodePlugins: [] });
  }, 120_000);
  afterAll(async () => {
    await c.stop();
  }, 60_000);

  it("identifies itself as csi.stowage.io with the controller, topology and offline expansion", async () => {
    const info = await call<{ name: string; vendor_version: string }>(c.controllerIdentity, "GetPluginInfo", {});
    expect(info.name).toBe("csi.stowage.io");
    expect(info.vendor_version).not.toBe("");
    const caps = await call<{ capabilities: { service?: { type: string }; volume_expansion?: { type: string } }[] }>(c.controllerIdentity, "GetPluginCapabilities", {});
    expect(caps.capabilities.flatMap((x) => (x.service ? [x.service.type] : [])).sort()).toEqual(["CONTROLLER_SERVICE", "VOLUME_ACCESSIBILITY_CONSTRAINTS"]);
    expect(caps.capabilities.flatMap((x) => (x.volume_expansion ? [x.volume_expansion.type] : []))).toEqual(["OFFLINE"]);
    expect(await call<{ ready: { value: boolean } }>(c.controllerIdentity, "Probe", {})).toMatchObject({ ready: { value: true } });
    const ctl = await call<{ capabilities: { rpc: { type: string } }[] }>(c.controller, "ControllerGetCapabilities", {});
    const types = ctl.capabilities.map((x) => x.rpc.type);
    for (const t of ["CREATE_DELETE_VOLUME", "PUBLISH_UNPUBLISH_VOLUME", "LIST_VOLUMES", "GET_CAPACITY", "CREATE_DELETE_SNAPSHOT", "LIST_SNAPSHOTS", "GET_VOLUME", "VOLUME_CONDITION"]) {
      expect(types).toContain(t);
    }
  });

  it("refuses requests missing a required field, naming it, and keeps serving", async () => {
    await expectStatus(call(c.controller, "CreateVolume", {}), status.INVALID_ARGUMENT, /name is required/);
    await expectStatus(call(c.controller, "CreateVolume", { name: "v-nocaps" }), status.INVALID_ARGUMENT, /volume_capabilities is required/);
    await expectStatus(call(c.controller, "CreateVolume", { name: "v-noaccess", volume_capabilities: [{ access_mode: { mode: "SINGLE_NODE_WRITER" } }] }), status.INVALID_ARGUMENT, /access_type is required/);
    await expectStatus(call(c.controller, "CreateVolume", { name: "v-nomode", volume_capabilities: [{ mount: {} }] }), status.INVALID_ARGUMENT, /access_mode is required/);
    await expectStatus(call(c.controller, "DeleteVolume", {}), status.INVALID_ARGUMENT, /volume_id is required/);
    await expectStatus(call(c.controller, "ControllerPublishVolume", { volume_id: "x" }), status.INVALID_ARGUMENT, /node_id is required/);
    await expectStatus(call(c.controller, "ControllerUnpublishVolume", {}), status.INVALID_ARGUMENT, /volume_id is required/);
    await expectStatus(call(c.controller, "ValidateVolumeCapabilities", { volume_id: "x" }), status.INVALID_ARGUMENT, /volume_capabilities is required/);
    await expectStatus(call(c.controller, "CreateSnapshot", { name: "s" }), status.INVALID_ARGUMENT, /source_volume_id is required/);
    await expectStatus(call(c.controller, "DeleteSnapshot", {}), status.INVALID_ARGUMENT, /snapshot_id is required/);
    await expectStatus(call(c.controller, "ControllerGetVolume", {}), status.INVALID_ARGUMENT, /volume_id is required/);
    await expectStatus(call(c.controller, "ControllerExpandVolume", {}), status.INVALID_ARGUMENT, /volume_id is required/);
    await expectStatus(call(c.controller, "CreateVolume", { name: "Not A Name", volume_capabilities: [mountCap()] }), status.INVALID_ARGUMENT, /not a valid volume name/);
    await expectStatus(call(c.controller, "CreateVolume", { name: "v-neg", capacity_range: { required_bytes: "-5" }, volume_capabilities: [mountCap()] }), status.INVALID_ARGUMENT, /required_bytes/);
    expect(await call<{ ready: { value: boolean } }>(c.controllerIdentity, "Probe", {})).toMatchObject({ ready: { value: true } });
  });

  it("names each invalid StorageClass parameter", async () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ replicas: "4" }, /parameter replicas/],
      [{ zoneSpread: "maybe" }, /parameter zoneSpread/],
      [{ encrypted: "yes" }, /parameter encrypted/],
      [{ fsType: "btrfs" }, /parameter fsType/],
      [{ "csi.storage.k8s.io/fstype": "btrfs" }, /csi\.storage\.k8s\.io\/fstype/],
      [{ colour: "blue" }, /unknown parameter colour/],
      [{ encryptionKey: "k1" }, /parameter encryptionKey needs encrypted/],
      [{ encrypted: "true", encryptionKey: "Bad Key" }, /parameter encryptionKey/],
    ];
    for (const [parameters, message] of bad) await expectStatus(create("v-params", { parameters }), status.INVALID_ARGUMENT, message);
    await expectStatus(create("v-fs", { parameters: { fsType: "xfs" }, volume_capabilities: [mountCap("ext4")] }), status.INVALID_ARGUMENT, /different file systems/);
    const ok = await create("v-params-ok", { parameters: { replicas: "2", zoneSpread: "true", fsType: "xfs", "csi.storage.k8s.io/pvc/name": "data", "csi.storage.k8s.io/pvc/namespace": "default" } });
    expect(ok.volume.volume_context).toMatchObject({ "stowage.io/fs-type": "xfs", "stowage.io/replicas": "2" });
    expect(ok.volume.accessible_topology.length).toBeGreaterThanOrEqual(2);
    await call(c.controller, "DeleteVolume", { volume_id: "v-params-ok" });
  });

  it("supports single-node access modes only, for mount and block", async () => {
    for (const mode of ["MULTI_NODE_READER_ONLY", "MULTI_NODE_SINGLE_WRITER", "MULTI_NODE_MULTI_WRITER"]) {
      await expectStatus(create("v-multi", { volume_capabilities: [mountCap("", mode)] }), status.INVALID_ARGUMENT, new RegExp(mode));
      await expectStatus(create("v-multi", { volume_capabilities: [blockCap(mode)] }), status.INVALID_ARGUMENT, new RegExp(mode));
    }
    await expectStatus(create("v-btrfs", { volume_capabilities: [mountCap("btrfs")] }), status.INVALID_ARGUMENT, /btrfs/);
    const v = await create("v-modes", { volume_capabilities: ["SINGLE_NODE_WRITER", "SINGLE_NODE_SINGLE_WRITER", "SINGLE_NODE_MULTI_WRITER", "SINGLE_NODE_READER_ONLY"].flatMap((m) => [mountCap("", m), blockCap(m)]) });
    const ok = await call<{ confirmed: { volume_capabilities: unknown[] } | null; message: string }>(c.controller, "ValidateVolumeCapabilities", { volume_id: v.volume.volume_id, volume_capabilities: [mountCap("ext4"), blockCap("SINGLE_NODE_READER_ONLY")] });
    expect(ok.confirmed?.volume_capabilities).toHaveLength(2);
    const no = await call<{ confirmed: unknown; message: string }>(c.controller, "ValidateVolumeCapabilities", { volume_id: v.volume.volume_id, volume_capabilities: [mountCap("", "MULTI_NODE_MULTI_WRITER")] });
    expect(no.confirmed).toBeNull();
    expect(no.message).toMatch(/MULTI_NODE_MULTI_WRITER/);
    await expectStatus(call(c.controller, "ValidateVolumeCapabilities", { volume_id: "no-such-volume", volume_capabilities: [mountCap()] }), status.NOT_FOUND);
    await call(c.controller, "DeleteVolume", { volume_id: "v-modes" });
  });

  it("creates idempotently by name, rounds sizes up to whole blocks and honours the limits", async () => {
    const first = await create("v-idem", { capacity_range: { required_bytes: String(10 * MiB + 1) } });
    expect(first.volume).toMatchObject({ volume_id: "v-idem", capacity_bytes: String(10 * MiB + 4096) });
    const again = await create("v-idem", { capacity_range: { required_bytes: String(10 * MiB + 1) } });
    expect(again.volume).toEqual(first.volume);
    expect((await c.admin.volumes()).filter((v) => v.id === "v-idem")).toHaveLength(1);
    await expectStatus(create("v-idem", { capacity_range: { required_bytes: String(20 * MiB) } }), status.ALREADY_EXISTS, /v-idem/);
    await expectStatus(create("v-idem", { parameters: { replicas: "1" }, capacity_range: { required_bytes: String(10 * MiB + 1) } }), status.ALREADY_EXISTS, /replicas/);

    await expectStatus(create("v-tiny", { capacity_range: { required_bytes: "0", limit_bytes: "1000" } }), status.OUT_OF_RANGE, /limit_bytes 1000/);
    await expectStatus(create("v-narrow", { capacity_range: { required_bytes: "5000", limit_bytes: "6000" } }), status.OUT_OF_RANGE);
    const limited = await create("v-limit", { capacity_range: { limit_bytes: String(8 * MiB) } });
    expect(Number(limited.volume.capacity_bytes)).toBeLessThanOrEqual(8 * MiB);
    await expectStatus(create("v-huge", { capacity_range: { required_bytes: String(64 * 1024 ** 3) } }), status.RESOURCE_EXHAUSTED, /68719476736 bytes.*free per node: n1=\d+/);

    await call(c.controller, "DeleteVolume", { volume_id: "v-idem" });
    await call(c.controller, "DeleteVolume", { volume_id: "v-idem" });
    await call(c.controller, "DeleteVolume", { volume_id: "v-limit" });
    await call(c.controller, "DeleteVolume", { volume_id: "never-existed" });
    expect((await c.admin.volumes()).map((v) => v.id)).toEqual([]);
  });

  it("places the target within the requisite topology, preferring the preferred one", async () => {
    const v = await create("v-topo", {
      parameters: { replicas: "1" },
      accessibility_requirements: { requisite: [{ segments: { [ZONE]: "b" } }, { segments: { [ZONE]: "c" } }], preferred: [{ segments: { [ZONE]: "c" } }] },
    });
    expect((await c.admin.volume("v-topo"))?.target).toBe("n3");
    expect(v.volume.accessible_topology.map((t) => t.segments[ZONE])).toContain("c");
    const pinned = await create("v-node", { parameters: { replicas: "1" }, accessibility_requirements: { requisite: [{ segments: { "topology.stowage.io/node": "n2" } }] } });
    expect((await c.admin.volume("v-node"))?.target).toBe("n2");
    expect(pinned.volume.accessible_topology.map((t) => t.segments[ZONE])).toContain("b");
    await expectStatus(create("v-nowhere", { accessibility_requirements: { requisite: [{ segments: { [ZONE]: "z" } }] } }), status.RESOURCE_EXHAUSTED, /requisite/);
    await call(c.controller, "DeleteVolume", { volume_id: "v-topo" });
    await call(c.controller, "DeleteVolume", { volume_id: "v-node" });
  });

  it("publishes a volume to one node at a time and unpublishes idempotently", async () => {
    await create("v-pub");
    await expectStatus(call(c.controller, "ControllerPublishVolume", { volume_id: "no-such", node_id: "n1", volume_capability: mountCap() }), status.NOT_FOUND, /no-such/);
    await expectStatus(call(c.controller, "ControllerPublishVolume", { volume_id: "v-pub", node_id: "n9", volume_capability: mountCap() }), status.NOT_FOUND, /n9/);
    await expectStatus(call(c.controller, "ControllerPublishVolume", { volume_id: "v-pub", node_id: "n1", volume_capability: mountCap("", "MULTI_NODE_MULTI_WRITER") }), status.INVALID_ARGUMENT);
    const pub = await call<{ publish_context: Record<string, string> }>(c.controller, "ControllerPublishVolume", { volume_id: "v-pub", node_id: "n1", volume_capability: mountCap() });
    const engine = await c.admin.volume("v-pub");
    expect(pub.publish_context).toEqual({ "stowage.io/nbd-address": engine?.nbd, "stowage.io/export-name": "v-pub" });
    expect(await call(c.controller, "ControllerPublishVolume", { volume_id: "v-pub", node_id: "n1", volume_capability: mountCap() })).toEqual(pub);
    await expectStatus(call(c.controller, "ControllerPublishVolume", { volume_id: "v-pub", node_id: "n1", volume_capability: mountCap(), readonly: true }), status.ALREADY_EXISTS);
    await expectStatus(call(c.controller, "ControllerPublishVolume", { volume_id: "v-pub", node_id: "n2", volume_capability: mountCap() }), status.FAILED_PRECONDITION, /n1/);
    const got = await call<{ status: { published_node_ids: string[]; volume_condition: { abnormal: boolean } } }>(c.controller, "ControllerGetVolume", { volume_id: "v-pub" });
    expect(got.status.published_node_ids).toEqual(["n1"]);
    await expectStatus(call(c.controller, "DeleteVolume", { volume_id: "v-pub" }), status.FAILED_PRECONDITION, /published/);

    await call(c.controller, "ControllerUnpublishVolume", { volume_id: "v-pub", node_id: "n1" });
    await call(c.controller, "ControllerUnpublishVolume", { volume_id: "v-pub", node_id: "n1" });
    await call(c.controller, "ControllerUnpublishVolume", { volume_id: "no-such", node_id: "n9" });
    await call(c.controller, "ControllerPublishVolume", { volume_id: "v-pub", node_id: "n2", volume_capability: mountCap() });
    await call(c.controller, "ControllerUnpublishVolume", { volume_id: "v-pub" });
    await call(c.controller, "DeleteVolume", { volume_id: "v-pub" });
  }, 60_000);

  it("lists volumes page by page, aborts on a bad token, and reports each volume's condition", async () => {
    for (const n of ["v-list-a", "v-list-b", "v-list-c"]) await create(n);
    type ListAnswer = { entries: { volume: VolumeMsg; status: { volume_condition: { abnormal: boolean } } }[]; next_token: string };
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await call<ListAnswer>(c.controller, "ListVolumes", { max_entries: 2, starting_token: token });
      expect(page.entries.length).toBeLessThanOrEqual(2);
      seen.push(...page.entries.map((e) => e.volume.volume_id));
      token = page.next_token;
      pages++;
    } while (token !== "");
    expect(seen).toEqual(["v-list-a", "v-list-b", "v-list-c"]);
    expect(pages).toBe(2);
    const all = await call<ListAnswer>(c.controller, "ListVolumes", {});
    expect(all.entries).toHaveLength(3);
    expect(all.next_token).toBe("");
    await expectStatus(call(c.controller, "ListVolumes", { starting_token: "bogus" }), status.ABORTED);
    await expectStatus(call(c.controller, "ListVolumes", { starting_token: "99" }), status.ABORTED);
    const got = await call<{ volume: VolumeMsg; status: { volume_condition: { abnormal: boolean; message: string } } }>(c.controller, "ControllerGetVolume", { volume_id: "v-list-a" });
    expect(got.volume.capacity_bytes).toBe(String(16 * MiB));
    expect(got.status.volume_condition.abnormal).toBe(false);
    await expectStatus(call(c.controller, "ControllerGetVolume", { volume_id: "no-such" }), status.NOT_FOUND);
    for (const n of ["v-list-a", "v-list-b", "v-list-c"]) await call(c.controller, "DeleteVolume", { volume_id: n });
  });

  it("reports capacity for the cluster and per zone", async () => {
    type Cap = { available_capacity: string; maximum_volume_size: { value: string } };
    // Volumes deleted by earlier tests are released by the engine shortly after: compare once the pools settle.
    const settled = async (segments: Record<string, string> | null, ids: string[]) =>
      pollUntil(
        async () => {
          const nodes = await c.admin.nodes();
          const free = nodes.filter((n) => ids.includes(n.id)).reduce((sum, n) => sum + n.capacityBytes - n.provisionedBytes, 0);
          const cap = await call<Cap>(c.controller, "GetCapacity", segments ? { accessible_topology: { segments } } : {});
          return Number(cap.available_capacity) === free ? cap : undefined;
        },
        { timeoutMs: 20_000, what: `capacity of ${ids.join(",")} matching the engine's pools` },
      );
    await settled(null, ["n1", "n2", "n3"]);
    const zoneB = await settled({ [ZONE]: "b" }, ["n2"]);
    expect(Number(zoneB.maximum_volume_size.value)).toBeGreaterThan(0);
    const nowhere = await call<Cap>(c.controller, "GetCapacity", { accessible_topology: { segments: { [ZONE]: "z" } } });
    expect(nowhere.available_capacity).toBe("0");
    await expectStatus(call(c.controller, "GetCapacity", { parameters: { replicas: "7" } }), status.INVALID_ARGUMENT, /replicas/);
  });

  it("takes, lists and deletes snapshots idempotently", async () => {
    await create("v-snap-a");
    await create("v-snap-b");
    const first = await call<{ snapshot: SnapshotMsg }>(c.controller, "CreateSnapshot", { source_volume_id: "v-snap-a", name: "snap-1" });
    expect(first.snapshot).toMatchObject({ snapshot_id: "v-snap-a/snap-1", source_volume_id: "v-snap-a", size_bytes: String(16 * MiB), ready_to_use: true });
    expect(Number(first.snapshot.creation_time.seconds)).toBeGreaterThan(0);
    expect((await call<{ snapshot: SnapshotMsg }>(c.controller, "CreateSnapshot", { source_volume_id: "v-snap-a", name: "snap-1" })).snapshot).toEqual(first.snapshot);
    await expectStatus(call(c.controller, "CreateSnapshot", { source_volume_id: "v-snap-b", name: "snap-1" }), status.ALREADY_EXISTS, /v-snap-a/);
    await expectStatus(call(c.controller, "CreateSnapshot", { source_volume_id: "no-such", name: "snap-x" }), status.NOT_FOUND);
    await expectStatus(call(c.controller, "CreateSnapshot", { source_volume_id: "v-snap-a", name: "Bad Name" }), status.INVALID_ARGUMENT);
    await call(c.controller, "CreateSnapshot", { source_volume_id: "v-snap-a", name: "snap-2" });
    await call(c.controller, "CreateSnapshot", { source_volume_id: "v-snap-b", name: "snap-3" });

    type List = { entries: { snapshot: SnapshotMsg }[]; next_token: string };
    const ids = (l: List) => l.entries.map((e) => e.snapshot.snapshot_id);
    expect(ids(await call<List>(c.controller, "ListSnapshots", {}))).toEqual(["v-snap-a/snap-1", "v-snap-a/snap-2", "v-snap-b/snap-3"]);
    expect(ids(await call<List>(c.controller, "ListSnapshots", { source_volume_id: "v-snap-b" }))).toEqual(["v-snap-b/snap-3"]);
    expect(ids(await call<List>(c.controller, "ListSnapshots", { snapshot_id: "v-snap-a/snap-2" }))).toEqual(["v-snap-a/snap-2"]);
    expect(ids(await call<List>(c.controller, "ListSnapshots", { snapshot_id: "v-snap-a/none" }))).toEqual([]);
    expect(ids(await call<List>(c.controller, "ListSnapshots", { source_volume_id: "no-such" }))).toEqual([]);
    const p1 = await call<List>(c.controller, "ListSnapshots", { max_entries: 2 });
    expect(ids(p1)).toHaveLength(2);
    const p2 = await call<List>(c.controller, "ListSnapshots", { max_entries: 2, starting_token: p1.next_token });
    expect(ids(p2)).toEqual(["v-snap-b/snap-3"]);
    expect(p2.next_token).toBe("");
    await expectStatus(call(c.controller, "ListSnapshots", { starting_token: "x" }), status.ABORTED);

    await call(c.controller, "DeleteSnapshot", { snapshot_id: "v-snap-a/snap-1" });
    await call(c.controller, "DeleteSnapshot", { snapshot_id: "v-snap-a/snap-1" });
    await call(c.controller, "DeleteSnapshot", { snapshot_id: "not-an-id" });
    expect((await c.admin.snapshots("v-snap-a")).map((s) => s.name)).toEqual(["snap-2"]);
    for (const v of ["v-snap-a", "v-snap-b"]) await call(c.controller, "DeleteVolume", { volume_id: v });
  }, 60_000);

  it("restores from a snapshot and clones a volume idempotently, refusing unknown or too-large sources, naming the field", async () => {
    await create("v-src");
    await call(c.controller, "CreateSnapshot", { source_volume_id: "v-src", name: "s1" });
    const fromSnap = { volume_content_source: { snapshot: { snapshot_id: "v-src/s1" } } };
    const restored = await create("v-restored", fromSnap);
    expect(restored.volume).toMatchObject({ volume_id: "v-restored", content_source: { snapshot: { snapshot_id: "v-src/s1" } } });
    expect((await create("v-restored", fromSnap)).volume.volume_id).toBe("v-restored");
    await expectStatus(create("v-restored"), status.ALREADY_EXISTS, /content source/);
    await expectStatus(create("v-restored", { volume_content_source: { volume: { volume_id: "v-src" } } }), status.ALREADY_EXISTS, /content source/);

    const clone = await create("v-clone", { volume_content_source: { volume: { volume_id: "v-src" } } });
    expect(clone.volume).toMatchObject({ content_source: { volume: { volume_id: "v-src" } } });

    await expectStatus(create("v-r2", { volume_content_source: { snapshot: { snapshot_id: "v-src/none" } } }), status.NOT_FOUND, /snapshot_id/);
    await expectStatus(create("v-r3", { volume_content_source: { snapshot: { snapshot_id: "garbage" } } }), status.NOT_FOUND, /snapshot_id/);
    await expectStatus(create("v-r4", { volume_content_source: { volume: { volume_id: "no-such" } } }), status.NOT_FOUND, /volume_id/);
    await expectStatus(
      call(c.controller, "CreateVolume", { name: "v-r5", capacity_range: { required_bytes: String(8 * MiB) }, volume_capabilities: [mountCap()], ...fromSnap }),
      status.OUT_OF_RANGE,
      /smaller than the snapshot/,
    );
    // Nothing was created for the refused requests.
    const names = (await c.admin.volumes()).map((v) => v.id);
    for (const refused of ["v-r2", "v-r3", "v-r4", "v-r5"]) expect(names).not.toContain(refused);
    const ctl = await call<{ capabilities: { rpc: { type: string } }[] }>(c.controller, "ControllerGetCapabilities", {});
    expect(ctl.capabilities.map((x) => x.rpc.type)).toContain("CLONE_VOLUME");

    for (const v of ["v-restored", "v-clone"]) await pollUntil(async () => (await c.admin.volume(v))?.populating === false, { timeoutMs: 60_000, what: `${v} populated` });
    await call(c.controller, "DeleteSnapshot", { snapshot_id: "v-src/s1" });
    for (const v of ["v-restored", "v-clone", "v-src"]) await call(c.controller, "DeleteVolume", { volume_id: v });
  }, 120_000);
});
