#!/usr/bin/env node
// Runs a TypeScript entry point of this package through tsx's loader, so the
// engine ships as source without a separate build step.
import { register } from "tsx/esm/api";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write("usage: tsx-run <entry.ts> [args...]\n");
  process.exit(2);
}
register();
process.argv = [process.argv[0] ?? "node", entry, ...rest];
await import(pathToFileURL(path.resolve(process.cwd(), entry)).href);
