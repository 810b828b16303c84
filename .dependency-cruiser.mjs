// Import cycles are not allowed anywhere in the repository. This is the rule
// set and cruise options that packages/testing/bin/check-cycles.mjs (run by
// `npm run lint`) applies to every workspace; it adds each workspace's
// tsconfig.json for path aliases and checks cycles between folders and
// between workspaces itself.
//
// Type-only imports count (tsPreCompilationDeps): a type-only import still
// ties the two files together (neither can be read, moved or changed without
// the other), and under verbatimModuleSyntax `import { type X } from` keeps a
// runtime import of the module anyway.
/** @type {import("dependency-cruiser").IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No import cycles between files; type-only and dynamic imports count too.",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: ["node_modules"] },
    exclude: { path: ["(^|/)node_modules/", "(^|/)\\.next/", "(^|/)dist/", "(^|/)generated/", "(^|/)coverage/", "(^|/)test-results/", "(^|/)playwright-report/", "\\.d\\.ts$"] },
    moduleSystems: ["es6", "cjs"],
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types"],
    },
  },
};
