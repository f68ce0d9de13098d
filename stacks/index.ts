import { Aspects } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { App } from "sst/constructs";
import type { EdgeMlopsConfig } from "../config/types.ts";
import { provideConfig } from "./context.ts";
import { DeploymentPipeline } from "./DeploymentPipeline.ts";
import { Monitoring } from "./Monitoring.ts";
import { Storage } from "./Storage.ts";

/** Every Lambda in the app: Node 22 on Graviton, one ESM bundle per handler. */
export const defaultFunctionProps = {
  runtime: "nodejs22.x",
  architecture: "arm_64",
  nodejs: {
    format: "esm",
    // SST prepends a `createRequire` banner to ESM bundles; without it the bundled AWS SDK fails
    // at load with "Dynamic require of node:https". Adding our own would declare `require` twice.
    esbuild: { target: "node22" },
    // Smaller bundles load faster on a cold start; SST keeps function and class names, so error
    // names (which the state machine's Retry/Catch match on) survive.
    minify: true,
  },
} as const;

/**
 * Registers the stacks on an SST app with the validated configuration and runs the
 * AWS Solutions checks (cdk-nag) at synth. Shared by sst.config.ts and the stack tests.
 */
export function configureApp(app: App, config: EdgeMlopsConfig): void {
  provideConfig(config);
  // Grant S3 log delivery through the log bucket's policy instead of the legacy ACL.
  app.node.setContext("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", true);
  app.setDefaultFunctionProps(defaultFunctionProps);
  app.stack(Storage).stack(DeploymentPipeline).stack(Monitoring);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
}
