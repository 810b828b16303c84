import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

// The system suite: the real control plane (through its launcher), agents and
// engines as processes. One file at a time: on two cores the fleet is the load.
export default defineConfig({
  test: {
    include: ["system/**/*.test.ts"],
    globalSetup: [require.resolve("@stowage/testing/global-setup")],
    testTimeout: 180_000,
    hookTimeout: 420_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
