import { defineConfig } from "vitest/config";

// Unit tests only; the browser suite under e2e/ runs with Playwright.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
