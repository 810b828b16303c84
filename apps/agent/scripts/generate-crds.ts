/**
 * Writes Stowage's CRDs, generated from the zod schemas, into
 * deploy/base/crds/ (one file per CRD). Run after changing
 * src/kube/crd-schemas.ts: `npx tsx apps/agent/scripts/generate-crds.ts`;
 * a test fails while the committed files differ from the output.
 */
import fs from "node:fs";
import path from "node:path";
import { crdFileName, renderOneCrdYaml, STOWAGE_CRDS } from "../src/kube/crds";

const dir = path.resolve(import.meta.dirname, "../../../deploy/base/crds");
fs.mkdirSync(dir, { recursive: true });
for (const def of STOWAGE_CRDS) {
  const file = path.join(dir, crdFileName(def));
  fs.writeFileSync(file, renderOneCrdYaml(def));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
