#!/usr/bin/env node
// Fails when two workspaces ask for different versions of one package, or when
// the @trpc/* packages are not all at one exact version: drift between
// workspaces shows up as two copies in node_modules and type mismatches.
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..", "..", "..");
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const manifests = [path.join(root, "package.json")];
for (const pattern of rootPkg.workspaces) {
  if (pattern.endsWith("/*")) {
    const base = path.join(root, pattern.slice(0, -2));
    for (const d of fs.readdirSync(base)) manifests.push(path.join(base, d, "package.json"));
  } else manifests.push(path.join(root, pattern, "package.json"));
}

const seen = new Map(); // name -> Map(spec -> [workspace])
for (const file of manifests.filter((f) => fs.existsSync(f))) {
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const field of ["dependencies", "devDependencies", "peerDependencies"]) {
    for (const [name, spec] of Object.entries(pkg[field] ?? {})) {
      if (spec === "*" && name.startsWith("@stowage/")) continue;
      const specs = seen.get(name) ?? new Map();
      specs.set(spec, [...(specs.get(spec) ?? []), pkg.name]);
      seen.set(name, specs);
    }
  }
}

const problems = [];
for (const [name, specs] of seen) {
  if (specs.size > 1) {
    problems.push(`${name}: ${[...specs].map(([s, ws]) => `${s} (${ws.join(", ")})`).join(" vs ")}`);
  }
}
const trpc = [...seen].filter(([n]) => n.startsWith("@trpc/")).flatMap(([, specs]) => [...specs.keys()]);
if (new Set(trpc).size > 1) problems.push(`@trpc/* packages must share one exact version, found ${[...new Set(trpc)].join(", ")}`);
if (trpc.some((s) => !/^\d+\.\d+\.\d+$/.test(s))) problems.push("@trpc/* versions must be exact (no ranges)");

if (problems.length) {
  process.stderr.write(`version drift between workspaces:\n  ${problems.join("\n  ")}\n`);
  process.exit(1);
}
process.stdout.write(`versions consistent across ${manifests.length} manifests\n`);
