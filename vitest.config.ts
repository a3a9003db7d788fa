import { defineConfig } from "vitest/config";

// One project per package. Tests import their own package from src/ and
// other workspace packages from dist/, so `npm test` builds first.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "sdk-core", root: "sdk-core", include: ["test/**/*.test.ts"] } },
      { test: { name: "server", root: "server", include: ["test/**/*.test.ts"] } },
      { test: { name: "node", root: "runtimes/node", include: ["test/**/*.test.ts"] } },
      {
        test: {
          name: "conformance",
          root: "conformance",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
