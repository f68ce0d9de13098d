import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Stack synth and the local endpoint are CPU-heavy; 2 workers suit the 2-core CI machine.
    maxWorkers: 2,
    // Tests of failure paths make handlers log errors on purpose; tests that read logs set their own level.
    // The SDK's notice about Node 20 (Lambda runs nodejs22.x) would repeat once per test file.
    env: { POWERTOOLS_LOG_LEVEL: "SILENT", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
