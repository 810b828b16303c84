#!/usr/bin/env node
// The agent ships as TypeScript source: register tsx's loader, then run main.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exit(await main(process.argv.slice(2), process.env));
