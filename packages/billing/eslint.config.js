import { stowageConfig } from "@stowage/eslint-config";

// The vocabulary layer (no other @stowage package, no node:*) keeps the package importable by the
// browser; the content hash, the tests (child processes) and the bench are the server-side files
// that may use Node built-ins.
export default [
  ...stowageConfig({ layer: "vocabulary", tsconfigRootDir: import.meta.dirname }),
  {
    files: ["src/invoice-hash.ts", "src/**/*.test.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: { "no-restricted-imports": "off" },
  },
];
