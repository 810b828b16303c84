/**
 * Renders the install manifests the way a platform team does (`kubectl kustomize`, which needs no
 * API server) and hands the tests typed objects.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";
import { kubeObjectSchema, type KubeObject } from "./objects";

const execFileAsync = promisify(execFile);

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
export const deployDir = path.join(repoRoot, "deploy");

/** KUBECTL overrides the binary (e.g. a versioned one when the dispatcher needs a server). */
const kubectl = process.env.KUBECTL ?? "kubectl";

/** The objects of one YAML stream, each checked to be a Kubernetes object. */
export function parseObjects(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc, i) => {
      if (doc.errors.length > 0) throw new Error(`${source}, document ${i}: ${doc.errors.map((e) => e.message).join("; ")}`);
      const value: unknown = doc.toJS();
      return value;
    })
    .filter((value) => value !== null)
    .map((value, i) => {
      const parsed = kubeObjectSchema.safeParse(value);
      if (!parsed.success) throw new Error(`${source}, document ${i}: ${parsed.error.issues.map((e) => `${e.path.join(".")}: ${e.message}`).join("; ")}`);
      return parsed.data;
    });
}

/** `kubectl kustomize DIR`, parsed. */
export async function renderKustomization(dir: string): Promise<KubeObject[]> {
  const { stdout } = await execFileAsync(kubectl, ["kustomize", dir], { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
  return parseObjects(stdout, dir);
}

/**
 * An overlay plus kustomize Components, rendered through a throwaway kustomization: how a team
 * composes its own install from ours.
 */
export async function renderWithComponents(overlay: string, components: string[]): Promise<KubeObject[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-kustomize-"));
  try {
    const rel = (p: string): string => path.relative(dir, p);
    fs.writeFileSync(
      path.join(dir, "kustomization.yaml"),
      [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
        `  - ${rel(overlay)}`,
        "components:",
        ...components.map((c) => `  - ${rel(c)}`),
        "",
      ].join("\n"),
    );
    return await renderKustomization(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const describe = (o: KubeObject): string => `${o.kind} ${o.metadata.namespace === undefined ? "" : `${o.metadata.namespace}/`}${o.metadata.name}`;

/** Every object of `kind`, parsed with `schema` (an error names the object and the field). */
export function allOf<S extends z.ZodType>(objects: KubeObject[], kind: string, schema: S): Array<z.infer<S>> {
  return objects
    .filter((o) => o.kind === kind)
    .map((o) => {
      const parsed = schema.safeParse(o);
      if (!parsed.success) throw new Error(`${describe(o)}: ${parsed.error.issues.map((e) => `${e.path.join(".")}: ${e.message}`).join("; ")}`);
      return parsed.data;
    });
}

/** The one object of `kind` named `name`. */
export function oneOf<S extends z.ZodType>(objects: KubeObject[], kind: string, name: string, schema: S): z.infer<S> {
  const found = allOf(objects.filter((o) => o.metadata.name === name), kind, schema);
  const only = found[0];
  if (found.length !== 1 || only === undefined) throw new Error(`expected one ${kind} named ${name}, found ${found.length}`);
  return only;
}
