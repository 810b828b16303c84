import { stowageConfig } from "@stowage/eslint-config";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";

export default [
  ...stowageConfig({ layer: "web", tsconfigRootDir: import.meta.dirname, ignores: ["playwright-report/**"] }),
  {
    files: ["src/**/*.{ts,tsx}"],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // Data comes from TanStack Query hooks; effects that fetch are a smell here.
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.name='useEffect'] CallExpression[callee.name='fetch']",
          message: "fetch through useTRPC() query hooks, not inside useEffect",
        },
      ],
    },
  },
];
