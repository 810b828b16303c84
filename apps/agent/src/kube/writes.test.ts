import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { setCondition } from "./status";
import { ConflictRetryExhausted, deterministicName, ownerReference, updateWithConflictRetry, withOwnerReference } from "./writes";

interface Doc {
  metadata: { resourceVersion?: string };
  spec: { replicas: number; labels: string[] };
}

/** A stored object with optimistic concurrency; `interferences` writes by someone else land just before ours. */
function store(initial: Doc["spec"], interferences: Array<(spec: Doc["spec"]) => void>) {
  let rv = 1;
  let doc: Doc = { metadata: { resourceVersion: "1" }, spec: initial };
  const writes: Doc[] = [];
  return {
    writes,
    current: () => doc,
    read: async () => structuredClone(doc),
    write: async (next: Doc) => {
      const meddle = interferences.shift();
      if (meddle) {
        meddle(doc.spec);
        doc = { ...doc, metadata: { resourceVersion: String(++rv) } };
      }
      if (next.metadata.resourceVersion !== doc.metadata.resourceVersion) throw new ApiException(409, "Conflict", JSON.stringify({ reason: "Conflict" }), {});
      writes.push(structuredClone(next));
      doc = { ...structuredClone(next), metadata: { resourceVersion: String(++rv) } };
      return structuredClone(doc);
    },
  };
}

describe("updateWithConflictRetry", () => {
  it("on a 409 re-reads and re-applies the mutation to the newer object instead of overwriting it", async () => {
    const s = store({ replicas: 1, labels: [] }, [(spec) => (spec.labels = ["theirs"])]);
    const out = await updateWithConflictRetry<Doc>({ read: s.read, write: s.write, mutate: (d) => ({ ...d, spec: { ...d.spec, labels: [...d.spec.labels, "ours"] } }) });
    expect(out.spec.labels).toEqual(["theirs", "ours"]);
    expect(s.writes).toHaveLength(1);
  });

  it("writes nothing when the mutation has nothing to change", async () => {
    const s = store({ replicas: 3, labels: [] }, []);
    await updateWithConflictRetry<Doc>({ read: s.read, write: s.write, mutate: (d) => (d.spec.replicas === 3 ? null : d) });
    expect(s.writes).toHaveLength(0);
  });

  it("gives up after the bounded number of conflicts", async () => {
    const meddle = () => undefined;
    const s = store({ replicas: 1, labels: [] }, [meddle, meddle, meddle]);
    await expect(updateWithConflictRetry<Doc>({ read: s.read, write: s.write, mutate: (d) => d }, 3)).rejects.toBeInstanceOf(ConflictRetryExhausted);
  });

  it("passes other errors through at once", async () => {
    let reads = 0;
    const boom = new ApiException(422, "Invalid", "{}", {});
    await expect(updateWithConflictRetry<Doc>({ read: async () => (reads++, { metadata: { resourceVersion: "1" }, spec: { replicas: 1, labels: [] } }), write: async () => Promise.reject(boom), mutate: (d) => d })).rejects.toBe(boom);
    expect(reads).toBe(1);
  });

  it("refuses to write an object read without a resourceVersion (that write would be unconditional)", async () => {
    await expect(updateWithConflictRetry<Doc>({ read: async () => ({ metadata: {}, spec: { replicas: 1, labels: [] } }), write: async (d) => d, mutate: (d) => d })).rejects.toThrow(/unconditional/);
  });
});

describe("names and owners", () => {
  it("deterministic names are stable, distinct per input and DNS labels", () => {
    const a = deterministicName("snap", "pvc-1", "daily");
    expect(a).toBe(deterministicName("snap", "pvc-1", "daily"));
    expect(a).not.toBe(deterministicName("snap", "pvc-1daily"));
    expect(a).toMatch(/^snap-[0-9a-f]{16}$/);
    expect(() => deterministicName("Bad_Prefix", "x")).toThrow(/prefix/);
  });

  it("owner references name the owner and mark the controller; a missing uid is an error", () => {
    const ref = ownerReference({ apiVersion: "stowage.io/v1alpha1", kind: "StorageNode", metadata: { name: "n1", uid: "u-1" } });
    expect(ref).toEqual({ apiVersion: "stowage.io/v1alpha1", kind: "StorageNode", name: "n1", uid: "u-1", controller: true, blockOwnerDeletion: true });
    expect(() => ownerReference({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" } })).toThrow(/metadata\.uid/);
    expect(withOwnerReference([ref, { ...ref, uid: "u-2" }], { ...ref, controller: false }).map((r) => `${r.uid}:${r.controller}`)).toEqual(["u-2:true", "u-1:false"]);
  });
});

describe("setCondition", () => {
  const t0 = Date.UTC(2026, 0, 1, 0, 0, 0);
  it("moves lastTransitionTime only when the status flips", () => {
    let c = setCondition(undefined, { type: "Ready", status: "False", reason: "Starting", message: "" }, t0);
    c = setCondition(c, { type: "Ready", status: "False", reason: "StillStarting", message: "pool", observedGeneration: 2 }, t0 + 60_000);
    expect(c).toEqual([{ type: "Ready", status: "False", reason: "StillStarting", message: "pool", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z" }]);
    c = setCondition(c, { type: "Ready", status: "True", reason: "Serving", message: "" }, t0 + 120_000);
    c = setCondition(c, { type: "Schedulable", status: "True", reason: "NotCordoned", message: "" }, t0 + 120_000);
    expect(c.map((x) => `${x.type}=${x.status}@${x.lastTransitionTime}`)).toEqual(["Ready=True@2026-01-01T00:02:00Z", "Schedulable=True@2026-01-01T00:02:00Z"]);
  });
});
