#!/usr/bin/env node
// The server ships as TypeScript source: register tsx's loader, then run the CLI.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
