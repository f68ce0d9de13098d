import type { SSTConfig } from "sst";

export default {
  config() {
    return {
      name: "edge-mlops",
      region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1",
    };
  },
  // Imported here, not at the top: `initProject` loads this file without `stacks`, so stack tests
  // and `sst` commands that only need the name never build the stacks or read the configuration.
  async stacks(app) {
    const [{ loadConfig }, { configureApp }] = await Promise.all([
      import("./config/validate.ts"),
      import("./stacks/index.ts"),
    ]);
    configureApp(app, await loadConfig());
  },
} satisfies SSTConfig;
