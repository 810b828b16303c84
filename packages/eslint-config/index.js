// Shared flat config. `layer` enforces the dependency direction of the monorepo:
//   web -> api -> prisma client;  api -> agent protocol;  agent -> engine;
//   engine imports nothing of web, api, Prisma or Kubernetes;
//   vocabulary (names and states, shared by all of them) imports no other @stowage package.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

const forbidden = {
  vocabulary: ["@stowage/web", "@stowage/api", "@stowage/prisma", "@stowage/agent", "@stowage/agent-protocol", "@stowage/engine", "@stowage/testing", "@prisma/*", "@kubernetes/*", "next", "next/*", "react", "react-dom", "node:*"],
  engine: ["@stowage/web", "@stowage/api", "@stowage/prisma", "@stowage/agent", "@prisma/*", "@kubernetes/*", "next", "next/*", "react", "react-dom"],
  "agent-protocol": ["@stowage/web", "@stowage/api", "@stowage/prisma", "@stowage/agent", "@stowage/engine", "@prisma/*", "next", "next/*", "react"],
  agent: ["@stowage/web", "@stowage/api", "@stowage/prisma", "@prisma/*", "next", "next/*", "react"],
  api: ["@stowage/web", "@stowage/agent", "@stowage/engine", "next", "next/*", "react", "react-dom"],
  prisma: ["@stowage/web", "@stowage/api", "@stowage/agent", "@stowage/engine", "next", "next/*", "react"],
  web: ["@stowage/agent", "@stowage/engine"],
  testing: ["@stowage/web", "@stowage/agent"],
  // A Kubernetes API server for local clusters and tests: stands alone, no product code.
  "kube-apiserver": ["@stowage/web", "@stowage/api", "@stowage/prisma", "@stowage/agent", "@stowage/agent-protocol", "@stowage/engine", "@stowage/vocabulary", "@prisma/*", "next", "next/*", "react", "react-dom"],
  // Controllers, scheduler, kubelets and CSI sidecars around it, talking to it and to CSI sockets over the wire only.
  "kube-cluster": ["@stowage/web", "@stowage/api", "@stowage/prisma", "@stowage/agent", "@stowage/agent-protocol", "@stowage/engine", "@stowage/vocabulary", "@prisma/*", "next", "next/*", "react", "react-dom"],
  // Kubernetes client pieces (quantities, pooled connections) shared by the agent and the local cluster.
  "kube-client": ["@stowage/web", "@stowage/api", "@stowage/prisma", "@stowage/agent", "@stowage/agent-protocol", "@stowage/engine", "@stowage/vocabulary", "@stowage/kube-cluster", "@prisma/*", "next", "next/*", "react", "react-dom"],
  // The CSI spec's protocol buffers and their loader, shared by the driver and the sidecars that call it.
  "csi-spec": ["@stowage/web", "@stowage/api", "@stowage/prisma", "@stowage/agent", "@stowage/agent-protocol", "@stowage/engine", "@stowage/vocabulary", "@stowage/testing", "@stowage/supervisor", "@prisma/*", "@kubernetes/*", "next", "next/*", "react", "react-dom"],
  // Child processes and ordered shutdown, for the launcher, the agent and the test suites alike.
  supervisor: ["@stowage/web", "@stowage/api", "@stowage/prisma", "@stowage/agent", "@stowage/agent-protocol", "@stowage/engine", "@stowage/testing", "@stowage/vocabulary", "@prisma/*", "@kubernetes/*", "next", "next/*", "react", "react-dom"],
};

/**
 * @param {{ layer: keyof typeof forbidden, tsconfigRootDir: string, ignores?: string[] }} opts
 */
export function stowageConfig({ layer, tsconfigRootDir, ignores = [] }) {
  return tseslint.config(
    { ignores: ["dist/**", ".next/**", "generated/**", "node_modules/**", "coverage/**", "test-results/**", "next-env.d.ts", ...ignores] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
      languageOptions: {
        globals: { ...globals.node },
        parserOptions: { projectService: true, tsconfigRootDir },
      },
      rules: {
        "@typescript-eslint/consistent-type-imports": ["error", { prefer: "type-imports", fixStyle: "inline-type-imports" }],
        "@typescript-eslint/no-explicit-any": "error",
        "@typescript-eslint/no-non-null-assertion": "error",
        "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
        "@typescript-eslint/switch-exhaustiveness-check": "error",
        "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false, arguments: false } }],
        "@typescript-eslint/require-await": "off",
        "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
        "no-restricted-imports": ["error", { patterns: forbidden[layer].map((group) => ({ group: [group], message: `the ${layer} layer must not import ${group}` })) }],
      },
    },
    {
      files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
      ...tseslint.configs.disableTypeChecked,
    },
  );
}
