import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseStorageNode } from "./crd-schemas";
import { crdFileName, renderCrdYaml, renderOneCrdYaml, STOWAGE_CRDS, storageNodeCrd, toCrd } from "./crds";
import { toStructuralSchema, type JSONSchemaProps } from "./structural-schema";

/** Every node of a structural schema has a type unless it is int-or-string or preserves unknown fields. */
function untypedPaths(s: JSONSchemaProps, at = ""): string[] {
  const self = s.type === undefined && !s["x-kubernetes-int-or-string"] && !s["x-kubernetes-preserve-unknown-fields"] ? [at || "(root)"] : [];
  return [
    ...self,
    ...Object.entries(s.properties ?? {}).flatMap(([k, v]) => untypedPaths(v, `${at}.${k}`)),
    ...(s.items ? untypedPaths(s.items, `${at}[]`) : []),
    ...(s.additionalProperties ? untypedPaths(s.additionalProperties, `${at}.*`) : []),
  ];
}

describe("toStructuralSchema", () => {
  it("types every node, marks integers int64 and drops zod's safe-integer bounds and date-time regex", () => {
    const s = toStructuralSchema(z.object({ n: z.number().int().min(0), at: z.iso.datetime(), tags: z.array(z.string()), flag: z.boolean().default(true) }));
    expect(untypedPaths(s)).toEqual([]);
    expect(s.properties?.n).toEqual({ type: "integer", format: "int64", minimum: 0 });
    expect(s.properties?.at).toEqual({ type: "string", format: "date-time" });
    expect(s.properties?.flag).toEqual({ type: "boolean", default: true });
    // A defaulted field is optional on input: the server fills it in.
    expect(s.required).toEqual(["n", "at", "tags"]);
  });

  it("maps int|string to x-kubernetes-int-or-string and open values to preserve-unknown-fields", () => {
    const s = toStructuralSchema(z.object({ size: z.union([z.number().int(), z.string()]), extra: z.unknown(), bag: z.record(z.string(), z.unknown()), labels: z.record(z.string(), z.string()) }));
    expect(s.properties?.size).toEqual({ "x-kubernetes-int-or-string": true });
    expect(s.properties?.extra).toEqual({ "x-kubernetes-preserve-unknown-fields": true });
    expect(s.properties?.bag).toEqual({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
    expect(s.properties?.labels).toEqual({ type: "object", additionalProperties: { type: "string" } });
    expect(untypedPaths(s)).toEqual([]);
  });

  it("never emits additionalProperties beside properties (the server forbids it)", () => {
    const s = toStructuralSchema(z.strictObject({ a: z.string() }));
    expect(s.additionalProperties).toBeUndefined();
    expect(s.properties?.a).toEqual({ type: "string" });
  });

  it("refuses a union that is not structural, naming the field", () => {
    expect(() => toStructuralSchema(z.object({ spec: z.object({ source: z.union([z.object({ a: z.string() }), z.string()]) }) }))).toThrow(/spec\.source: a union other than integer-or-string/);
  });
});

describe("StorageNode CRD", () => {
  const crd = toCrd(storageNodeCrd);
  const version = crd.spec.versions[0];

  it("is cluster-scoped stowage.io/v1alpha1 storagenodes, short name sn, with the status subresource", () => {
    expect(crd.metadata?.name).toBe("storagenodes.stowage.io");
    expect(crd.spec).toMatchObject({ group: "stowage.io", scope: "Cluster", names: { kind: "StorageNode", plural: "storagenodes", shortNames: ["sn"] } });
    expect(version?.name).toBe("v1alpha1");
    expect(version?.subresources?.status).toEqual({});
  });

  it("prints Phase, Zone, Rack, Capacity, Provisioned and Age", () => {
    expect(version?.additionalPrinterColumns?.map((c) => `${c.name}=${c.jsonPath}`)).toEqual([
      "Phase=.status.phase",
      "Zone=.spec.zone",
      "Rack=.spec.rack",
      "Capacity=.status.capacityBytes",
      "Provisioned=.status.provisionedBytes",
      "Age=.metadata.creationTimestamp",
    ]);
  });

  it("has a structural schema: cordoned defaults to false, conditions are a map keyed by type in metav1 shape", () => {
    const root = version?.schema?.openAPIV3Schema;
    const spec = root?.properties?.spec;
    const status = root?.properties?.status;
    expect(spec?.properties?.cordoned).toMatchObject({ type: "boolean", default: false });
    expect(status?.properties?.phase).toMatchObject({ type: "string", enum: ["Up", "Down", "Unknown"] });
    const conditions = status?.properties?.conditions;
    expect(conditions).toMatchObject({ type: "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] });
    expect(Object.keys(toStructuralSchema(storageNodeCrd.status).properties?.conditions?.items?.properties ?? {}).sort()).toEqual(["lastTransitionTime", "message", "observedGeneration", "reason", "status", "type"]);
    expect(untypedPaths(toStructuralSchema(storageNodeCrd.status))).toEqual([]);
  });

  it("parses a StorageNode from the wire, defaulting spec, and names the bad field of an invalid one", () => {
    const sn = parseStorageNode({ apiVersion: "stowage.io/v1alpha1", kind: "StorageNode", metadata: { name: "n1" } });
    expect(sn.spec.cordoned).toBe(false);
    expect(() => parseStorageNode({ apiVersion: "stowage.io/v1alpha1", kind: "StorageNode", metadata: { name: "n1" }, status: { phase: "Sideways", capacityBytes: 1, provisionedBytes: 0, volumes: 0 } })).toThrow(/status\.phase/);
  });

  it("the committed deploy/base/crds files are exactly what the generator writes", () => {
    const dir = path.resolve(import.meta.dirname, "../../../../deploy/base/crds");
    for (const def of STOWAGE_CRDS) {
      const committed = fs.readFileSync(path.join(dir, crdFileName(def)), "utf8");
      expect(committed, `${crdFileName(def)} is stale: run npx tsx apps/agent/scripts/generate-crds.ts`).toBe(renderOneCrdYaml(def));
    }
    expect(renderCrdYaml()).toContain("name: storagenodes.stowage.io");
  });
});
