import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
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
  /** Where SST wrote the function bundles (a fresh directory per synth). */
  artifactsDir: string;
  template(stack: StackFn): Template;
  /** cdk-nag errors and warnings left after suppressions, for one stack. */
  findings(stack: StackFn): Finding[];
}

/**
 * Builds the app the way `sst deploy` does (deploy mode) but offline: under vitest NODE_ENV is
 * "test", so SST skips what needs AWS credentials (bootstrap bucket, source-map upload).
 * `bundle: false` marks the stacks inactive, which makes SST use placeholder code instead of
 * bundling the handlers: for assertions that do not concern the code.
 * Synthesizes once — a second synth re-runs SST's aspects, which then refuse their own ids — so
 * templates and nag messages both come from the one cloud assembly.
 */
export async function synthApp(
  config: EdgeMlopsConfig,
  options: { bundle: boolean },
): Promise<SynthesizedApp> {
  await initProject({ stage: "test" });
  const project = useProject();
  // Bundles and generated types go to a private directory, so test files running in parallel
  // never write over each other in .sst/.
  project.paths.out = mkdtempSync(path.join(tmpdir(), "edge-mlops-sst-"));
  project.paths.artifacts = path.join(project.paths.out, "artifacts");
  const { name, stage, region } = project.config;
  const app = new App({
    mode: "deploy",
    name,
    stage,
    region,
    ...(options.bundle ? {} : { isActiveStack: () => false }),
  } as ConstructorParameters<typeof App>[0]);
  configureApp(app, config);
  await app.finish();
  const assembly = app.synth();
  return {
    app,
    assembly,
    artifactsDir: project.paths.artifacts,
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
