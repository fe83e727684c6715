// End-to-end tests with real QEMU guests (`npm run test:e2e`): test/e2e/*.e2e.test.ts, one file at a time
// (each case boots at most two QEMUs; this machine has two cores), with a network-ready summary at the end.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    globalSetup: ["test/helpers/build.ts", "test/e2e/setup.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
