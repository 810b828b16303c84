#!/usr/bin/env node
// Fails on any import cycle in the repository (`npm run lint`), at three levels:
//   files       dependency-cruiser's no-circular rule (.dependency-cruiser.mjs)
//               over every source file of every workspace (src, test, bench,
//               bin, scripts, e2e, system, config files); type-only imports
//               count;
//   folders     within a workspace, between sibling folders: an import from
//               a/x/.. to a/y/.. is an edge a/x → a/y, an import between a
//               file directly in `a` and a/x/.. is one between that file and
//               a/x (cycles.mjs, siblingFolders); test files stand above the
//               folder they test;
//   workspaces  between the workspaces, from the imports between them.
// Each cycle is printed as a chain a → b → a, for folders and workspaces with
// one import per arrow that makes it.
import fs from "node:fs";
import path from "node:path";
import { cruise } from "dependency-cruiser";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { collapse, findCycles, formatCycle, siblingFolders } from "./cycles.mjs";

const root = path.resolve(import.meta.dirname, "..", "..", "..");
process.chdir(root);
const { default: config } = await import(path.join(root, ".dependency-cruiser.mjs"));
const rootPkg = JSON.parse(fs.readFileSync("package.json", "utf8"));

/** Workspace folders relative to the root, as in check-versions.mjs. */
function workspaces() {
  const dirs = [];
  for (const pattern of rootPkg.workspaces) {
    if (pattern.endsWith("/*")) {
      const base = pattern.slice(0, -2);
      for (const d of fs.readdirSync(base).sort()) dirs.push(`${base}/${d}`);
    } else dirs.push(pattern);
  }
  return dirs.filter((d) => fs.existsSync(path.join(d, "package.json")));
}

/** A workspace's parsed tsconfig.json; undefined for one with no files yet. */
function readTsconfig(file) {
  try {
    return extractTSConfig(path.resolve(file));
  } catch (error) {
    if (error instanceof Error && error.message.includes("TS18003")) return undefined;
    throw error;
  }
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const dirs = workspaces();
/** @type {{ from: string, to: string, typeOnly: boolean }[]} */
const edges = [];
const circular = [];
const unresolved = [];
let files = 0;

// One cruise per workspace, so that each resolves its imports with its own
// tsconfig.json paths (apps/web's "~/*"). Imports into another workspace are
// recorded but not followed: that workspace's own cruise covers its files.
for (const dir of dirs) {
  const tsconfig = path.join(dir, "tsconfig.json");
  const parsed = fs.existsSync(tsconfig) ? readTsconfig(tsconfig) : undefined;
  const hasTsconfig = parsed !== undefined;
  const options = {
    ...config.options,
    ruleSet: { forbidden: config.forbidden },
    validate: true,
    doNotFollow: { path: [...config.options.doNotFollow.path, `^(?!${escape(dir)}/)`] },
    ...(hasTsconfig ? { tsConfig: { fileName: tsconfig } } : {}),
  };
  const { output } = await cruise([dir], options, {}, hasTsconfig ? { tsConfig: parsed } : {});
  if (typeof output === "string") throw new Error(`unexpected dependency-cruiser output for ${dir}`);
  for (const mod of output.modules) {
    if (!mod.source.startsWith(`${dir}/`) || mod.followable === false) continue;
    files += 1;
    for (const dep of mod.dependencies) {
      if (dep.couldNotResolve) {
        if (/^(\.|~|@stowage\/)/.test(dep.module)) unresolved.push(`${mod.source}: ${dep.module}`);
        continue;
      }
      if (dep.coreModule || dep.resolved.includes("node_modules/")) continue;
      edges.push({ from: mod.source, to: dep.resolved, typeOnly: dep.dependencyTypes.includes("type-only") });
    }
  }
  for (const v of output.summary.violations) {
    if (v.rule.name === "no-circular") circular.push(v);
  }
}

const workspaceOf = (file) => dirs.find((d) => file.startsWith(`${d}/`));
const ours = edges.filter((e) => workspaceOf(e.to) !== undefined);
let failed = false;

if (unresolved.length > 0) {
  failed = true;
  process.stdout.write(`imports that could not be resolved, so their cycles cannot be checked (${unresolved.length}):\n  ${unresolved.join("\n  ")}\n\n`);
}

// Files: each cycle dependency-cruiser reports, once however many of its
// imports it flags.
const fileCycles = new Map();
for (const v of circular) {
  const chain = [v.from, ...v.cycle.map((c) => c.name)];
  const typeOnly = v.cycle.map((c) => c.dependencyTypes.includes("type-only"));
  const start = chain.indexOf([...chain.slice(1)].sort()[0], 1);
  const id = [...chain.slice(start), ...chain.slice(1, start)].join("\0");
  if (fileCycles.has(id)) continue;
  fileCycles.set(id, chain.map((node, i) => (i === 0 ? node : `→${typeOnly[i - 1] ? " (type-only)" : ""} ${node}`)).join(" "));
}
if (fileCycles.size > 0) {
  failed = true;
  process.stdout.write(`file-level import cycles (${fileCycles.size}):\n`);
  for (const line of fileCycles.values()) process.stdout.write(`  ${line}\n`);
  process.stdout.write("\n");
}

// Folders, within each workspace; a cycle of loose files alone is a file
// cycle, reported above.
const inside = ours.filter((e) => workspaceOf(e.from) === workspaceOf(e.to));
const folders = collapse(inside, (e) => siblingFolders(e.from, e.to));
const isFile = new Set(inside.flatMap((e) => [e.from, e.to]));
const folderCycles = findCycles(folders.graph).filter((cycle) => cycle.some((node) => !isFile.has(node)));
// Workspaces, from the imports between them.
const packages = collapse(ours, (e) => [workspaceOf(e.from), workspaceOf(e.to)]);
const packageCycles = findCycles(packages.graph);

for (const [level, cycles, examples] of [
  ["folder", folderCycles, folders.examples],
  ["workspace", packageCycles, packages.examples],
]) {
  if (cycles.length === 0) continue;
  failed = true;
  process.stdout.write(`${level}-level import cycles (${cycles.length}):\n`);
  for (const cycle of cycles) process.stdout.write(`  ${formatCycle(cycle, examples, true).replaceAll("\n", "\n  ")}\n`);
  process.stdout.write("\n");
}

if (failed) {
  if (fileCycles.size + folderCycles.length + packageCycles.length > 0) {
    process.stdout.write("import cycles are not allowed: move the shared piece down a layer or into its own file\n");
  }
  process.exit(1);
}
process.stdout.write(`no import cycles among ${files} files, their folders and ${dirs.length} workspaces\n`);
