import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../config/validate.ts";
import { aslFile } from "../../stacks/DeploymentPipeline.ts";
import { type SynthesizedApp, synthSstConfig } from "./synth.ts";
import { resources } from "./template-helpers.ts";

// sst.config.ts loaded by SST's own loader (one esbuild bundle at the project root, as `sst deploy`
// does), with the project's edge-mlops.config.ts. No handler bundling: app.test.ts covers that.
let synth: SynthesizedApp & Awaited<ReturnType<typeof synthSstConfig>>;
beforeAll(async () => {
  synth = await synthSstConfig({ bundle: false });
}, 120_000);
afterAll(() => synth?.dispose());

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("sst.config.ts", () => {
  it("names the app edge-mlops in us-east-1 unless AWS_REGION says otherwise", async () => {
    vi.stubEnv("AWS_REGION", "");
    vi.stubEnv("AWS_DEFAULT_REGION", "");
    expect(await synth.sstConfig.config({})).toEqual({ name: "edge-mlops", region: "us-east-1" });
    vi.stubEnv("AWS_REGION", "eu-west-1");
    expect(await synth.sstConfig.config({})).toEqual({ name: "edge-mlops", region: "eu-west-1" });
  });

  it("registers the three stacks, named with the stage", () => {
    expect(synth.assembly.stacks.map((s) => s.stackName).sort()).toEqual([
      "test-edge-mlops-DeploymentPipeline",
      "test-edge-mlops-Monitoring",
      "test-edge-mlops-Storage",
    ]);
  });

  it("finds the ASL file from the bundled config (import.meta.url points at the bundle there)", () => {
    const machine = Object.values(
      resources(synth.template("DeploymentPipeline"), "AWS::StepFunctions::StateMachine"),
    )[0];
    expect(machine?.Properties.DefinitionString).toBe(readFileSync(aslFile(), "utf8"));
  });

  it("hands the functions the validated project configuration", () => {
    const fns = Object.values(resources(synth.template("Monitoring"), "AWS::Lambda::Function")).filter(
      (fn) =>
        (fn.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables
          ?.EDGE_MLOPS_CONFIG,
    );
    expect(fns).toHaveLength(2);
    for (const fn of fns) {
      const env = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
      expect(JSON.parse(env.EDGE_MLOPS_CONFIG as string)).toEqual(loadConfig());
    }
  });

  it.each(["Storage", "DeploymentPipeline", "Monitoring"] as const)(
    "%s passes cdk-nag with the project configuration",
    (stack) => {
      expect(synth.findings(stack)).toEqual([]);
    },
  );
});
