import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import type { SSTConfig } from "sst";
import { App } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { load } from "sst/stacks/build.js";
import type { EdgeMlopsConfig } from "../../config/types.ts";
import { configureApp } from "../../stacks/index.ts";

/** The app's stacks by their SST id (the stack name is `<stage>-edge-mlops-<id>`). */
export type StackId = "Storage" | "DeploymentPipeline" | "Monitoring";

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
  template(stack: StackId): Template;
  /** cdk-nag errors and warnings left after suppressions, for one stack. */
  findings(stack: StackId): Finding[];
  /** Removes the bundles and the cloud assembly. */
  dispose(): void;
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
  return synthWith((app) => configureApp(app, config), options);
}

/** The way `sst deploy` does it: SST's own loader bundles sst.config.ts, then its `stacks` runs. */
export async function synthSstConfig(options: {
  bundle: boolean;
}): Promise<SynthesizedApp & { sstConfig: SSTConfig }> {
  let sstConfig: SSTConfig | undefined;
  const synth = await synthWith(async (app) => {
    const [, loaded] = await load(useProject().paths.config);
    sstConfig = loaded as SSTConfig;
    await sstConfig.stacks(app);
  }, options);
  return { ...synth, sstConfig: sstConfig as SSTConfig };
}

async function synthWith(
  register: (app: App) => void | Promise<void>,
  options: { bundle: boolean },
): Promise<SynthesizedApp> {
  await initProject({ stage: "test" });
  const project = useProject();
  // Bundles and generated types go to a private directory, so test files running in parallel
  // never write over each other in .sst/.
  const out = mkdtempSync(path.join(tmpdir(), "edge-mlops-sst-"));
  project.paths.out = out;
  project.paths.artifacts = path.join(project.paths.out, "artifacts");
  const { name, stage, region } = project.config;
  const app = new App(
    {
      mode: "deploy",
      name,
      stage,
      region,
      ...(options.bundle ? {} : { isActiveStack: () => false }),
    },
    { outdir: path.join(project.paths.out, "cdk.out") },
  );
  await register(app);
  await app.finish();
  const assembly = app.synth();
  // By name, not by stack function: the config-loader path bundles its own copies of the stack modules.
  const artifact = (stack: StackId) => assembly.getStackByName(app.logicalPrefixedName(stack));
  return {
    app,
    assembly,
    artifactsDir: project.paths.artifacts,
    dispose: () => rmSync(out, { recursive: true, force: true }),
    template: (stack) => Template.fromJSON(artifact(stack).template),
    findings: (stack) =>
      artifact(stack)
        .messages.filter((m) => m.level === "error" || m.level === "warning")
        .map((m) => ({
          level: m.level as Finding["level"],
          path: m.id,
          message: String(m.entry.data).split("\n")[0] ?? "",
        })),
  };
}
