import { Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { App, getStack } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import type { EdgeMlopsConfig } from "../../config/types.ts";
import { configureApp } from "../../stacks/index.ts";

// biome-ignore lint/suspicious/noExplicitAny: SST stack functions take a StackContext and return anything.
type StackFn = (...args: any[]) => unknown;

export interface Finding {
  level: "error" | "warning";
  path: string;
  message: string;
}

export interface SynthesizedApp {
  app: App;
  assembly: CloudAssembly;
  template(stack: StackFn): Template;
  /** cdk-nag errors and warnings left after suppressions, for one stack. */
  findings(stack: StackFn): Finding[];
}

/**
 * Builds the app the way `sst deploy` does (deploy mode, handlers bundled by esbuild) but offline:
 * with NODE_ENV=test SST skips everything that needs AWS credentials (bootstrap, source maps).
 * Synthesizes once — a second synth re-runs SST's aspects, which then refuse their own ids — so
 * templates and nag messages both come from the one cloud assembly.
 */
export async function synthApp(config: EdgeMlopsConfig): Promise<SynthesizedApp> {
  await initProject({ stage: "test" });
  const { name, stage, region } = useProject().config;
  const app = new App({
    mode: "deploy",
    name,
    stage,
    region,
    ...(process.env.STACK_DEV ? { isActiveStack: () => false } : {}),
  } as never);
  configureApp(app, config);
  await app.finish();
  const assembly = app.synth();
  return {
    app,
    assembly,
    template: (stack) => Template.fromStack(getStack(stack as never)),
    findings: (stack) =>
      assembly
        .getStackArtifact(getStack(stack as never).artifactId)
        .messages.filter((m) => m.level === "error" || m.level === "warning")
        .map((m) => ({
          level: m.level as Finding["level"],
          path: m.id,
          message: String(m.entry.data).split("\n")[0] ?? "",
        })),
  };
}
