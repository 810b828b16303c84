/**
 * Stowage's CustomResourceDefinitions, generated from the zod schemas in
 * crd-schemas.ts: the objects, their YAML for deploy/base/crds/ (written by
 * scripts/generate-crds.ts), and `ensureCrds`, which installs or updates them
 * when the cluster role starts and waits until the API server serves them.
 */
import type { ApiextensionsV1Api, V1CustomResourceColumnDefinition, V1CustomResourceDefinition } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { stringify } from "yaml";
import type { z } from "zod";
import { pollUntil } from "@stowage/supervisor";
import { storageNodeSpecSchema, storageNodeStatusSchema, STOWAGE_GROUP, STOWAGE_VERSION } from "./crd-schemas";
import { isAlreadyExists, isNotFound } from "./errors";
import { toStructuralSchema } from "./structural-schema";
import { updateWithConflictRetry } from "./writes";

export interface CrdDefinition {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: "Cluster" | "Namespaced";
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: V1CustomResourceColumnDefinition[];
}

export const storageNodeCrd: CrdDefinition = {
  group: STOWAGE_GROUP,
  version: STOWAGE_VERSION,
  kind: "StorageNode",
  plural: "storagenodes",
  singular: "storagenode",
  shortNames: ["sn"],
  scope: "Cluster",
  spec: storageNodeSpecSchema,
  status: storageNodeStatusSchema,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Zone", type: "string", jsonPath: ".spec.zone" },
    { name: "Rack", type: "string", jsonPath: ".spec.rack" },
    { name: "Capacity", type: "integer", jsonPath: ".status.capacityBytes", description: "Pool capacity in bytes" },
    { name: "Provisioned", type: "integer", jsonPath: ".status.provisionedBytes", description: "Bytes of replicas placed on the node" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};

/** Every CRD Stowage installs, in install order. */
export const STOWAGE_CRDS: readonly CrdDefinition[] = [storageNodeCrd];

export function crdName(def: CrdDefinition): string {
  return `${def.plural}.${def.group}`;
}

/** The CustomResourceDefinition object of `def`: one served, stored version with the status subresource. */
export function toCrd(def: CrdDefinition): V1CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: crdName(def), labels: { "app.kubernetes.io/part-of": "stowage" } },
    spec: {
      group: def.group,
      scope: def.scope,
      names: { kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular: def.singular, shortNames: def.shortNames },
      versions: [
        {
          name: def.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toStructuralSchema(def.spec),
                status: toStructuralSchema(def.status),
              },
            },
          },
        },
      ],
    },
  };
}

const HEADER = "# Generated from apps/agent/src/kube/crd-schemas.ts by apps/agent/scripts/generate-crds.ts; do not edit.\n";

/** One CRD as YAML, as committed under deploy/base/crds/. */
export function renderOneCrdYaml(def: CrdDefinition): string {
  return HEADER + stringify(toCrd(def), { lineWidth: 0 });
}

/** Every CRD as one multi-document YAML stream. */
export function renderCrdYaml(): string {
  return STOWAGE_CRDS.map((def) => renderOneCrdYaml(def)).join("---\n");
}

/** deploy/base/crds/<group>_<plural>.yaml, kubebuilder's naming. */
export function crdFileName(def: CrdDefinition): string {
  return `${def.group}_${def.plural}.yaml`;
}

/**
 * Creates each CRD, or replaces it (with the read resourceVersion, re-read
 * on 409) when it exists, then waits until the API server reports it
 * Established — before that, requests for its resources 404.
 */
export async function ensureCrds(api: ApiextensionsV1Api, log: Logger, opts: { timeoutMs?: number; defs?: readonly CrdDefinition[] } = {}): Promise<void> {
  for (const def of opts.defs ?? STOWAGE_CRDS) {
    const name = crdName(def);
    const desired = toCrd(def);
    try {
      await api.createCustomResourceDefinition({ body: desired });
      log.info({ crd: name }, "created CRD");
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await updateWithConflictRetry({
        read: () => api.readCustomResourceDefinition({ name }),
        mutate: (current) => ({ ...current, metadata: { ...current.metadata, labels: { ...current.metadata?.labels, ...desired.metadata?.labels } }, spec: desired.spec }),
        write: (next) => api.replaceCustomResourceDefinition({ name, body: next }),
      });
      log.info({ crd: name }, "updated CRD");
    }
    await pollUntil(
      async () => {
        try {
          const crd = await api.readCustomResourceDefinition({ name });
          return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") === true;
        } catch (err) {
          if (isNotFound(err)) return false;
          throw err;
        }
      },
      { what: `CRD ${name} to be Established`, timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100 },
    );
  }
}
