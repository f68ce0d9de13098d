import {
  ListEffectiveDeploymentsCommand,
  ListInstalledComponentsCommand,
} from "@aws-sdk/client-greengrassv2";
import { DescribeJobCommand } from "@aws-sdk/client-iot";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyzeFleetDrift, type FleetDrift } from "../../cli/demo-drift.ts";
import { featureNames } from "../../examples/distribution.ts";
import { localResources } from "../../local/wiring.ts";
import {
  approveNewVersion,
  type Loop,
  MODEL_COMPONENT,
  type Rollout,
  RUNTIME_COMPONENT,
  startLoop,
} from "./loop.ts";

// Approval → compile → package → canary → fleet on 3 simulated devices running the real
// inference component, then traffic with input_3 shifted by 2σ on one device, then drift analysis.
let loop: Loop;
let rollout: Rollout;

beforeAll(async () => {
  loop = await startLoop({ canary: 1, fleet: 2 });
  rollout = await approveNewVersion(loop);
});
afterAll(async () => {
  await loop?.dispose();
});

describe("the local loop, happy path", () => {
  it("rolls the approved version out to every device, canary first", async () => {
    expect(rollout.status).toBe("SUCCEEDED");
    expect(rollout.states.filter((s) => s === "DeployStage")).toHaveLength(2);
    expect(rollout.states).toContain("NotifySucceeded");
    expect(rollout.states).not.toContain("Rollback");

    const version = `1.0.${rollout.version}`;
    for (const device of loop.fleet.devices) {
      // What the device itself runs, what it reported, and what the model runtime serves.
      expect(device.components().get(MODEL_COMPONENT)).toBe(version);
      expect(device.components().get(RUNTIME_COMPONENT)).toBe("1.0.0");
      expect(loop.fleet.host(device.thingName).models()).toEqual([
        expect.objectContaining({
          name: "edge-mlops-example-classifier",
          version: String(rollout.version),
          componentVersion: version,
        }),
      ]);
      const installed = await loop.clients.greengrass.send(
        new ListInstalledComponentsCommand({ coreDeviceThingName: device.thingName }),
      );
      expect(installed.installedComponents).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            componentName: MODEL_COMPONENT,
            componentVersion: version,
            lifecycleState: "FINISHED",
          }),
          expect.objectContaining({
            componentName: RUNTIME_COMPONENT,
            componentVersion: "1.0.0",
            lifecycleState: "RUNNING",
          }),
        ]),
      );
      const effective = await loop.clients.greengrass.send(
        new ListEffectiveDeploymentsCommand({ coreDeviceThingName: device.thingName }),
      );
      const latest = effective.effectiveDeployments?.find(
        (d) => d.targetArn?.endsWith(`/${device.thingGroupNames[0]}`) && d.deploymentName?.includes(version),
      );
      expect(latest?.coreDeviceExecutionStatus).toBe("SUCCEEDED");
      // The IoT job of that deployment counts the device as succeeded: what CheckRollout reads.
      const job = await loop.clients.iot.send(new DescribeJobCommand({ jobId: latest?.iotJobId }));
      expect(job.job?.jobProcessDetails?.numberOfSucceededThings).toBe(
        loop.fleet.fleet.inGroup(device.thingGroupNames[0] as string).length,
      );
    }
  });

  describe("drift on one feature of one device", () => {
    let drift: FleetDrift;
    const drifted = "edge-device-003";

    beforeAll(async () => {
      loop.fleet.fleet.device(drifted).knobs = { drift: [{ feature: "input_3", shiftSigmas: 2 }] };
      const traffic = await loop.fleet.traffic({ requestsPerDevice: 400, ratePerSecond: 0, seed: 11 });
      expect(traffic).toMatchObject({ sent: 1200, failed: 0 });
      await loop.fleet.captureSettled();
      drift = await analyzeFleetDrift(loop.endpoint, loop.clients, { reportDir: loop.dir });
    });

    it("writes a drift result to S3 through aggregate-drift", async () => {
      expect(drift.outcome).toMatchObject({ status: "written", drifted: true, records: 1200 });
      expect(drift.resultUri).toMatch(
        new RegExp(`^s3://${localResources.resultsBucket}/results/edge-mlops-example-classifier/`),
      );
      const key = (drift.resultUri as string).replace(`s3://${localResources.resultsBucket}/`, "");
      const doc = JSON.parse(
        (await (
          await loop.clients.s3.send(new GetObjectCommand({ Bucket: localResources.resultsBucket, Key: key }))
        ).Body?.transformToString()) ?? "{}",
      );
      expect(doc).toMatchObject({ model: "edge-mlops-example-classifier", records: { valid: 1200 } });
      expect(doc.devices.map((d: { device: string }) => d.device)).toEqual([
        "edge-device-001",
        "edge-device-002",
        "edge-device-003",
      ]);
      await loop.clients.s3.send(
        new HeadObjectCommand({
          Bucket: localResources.resultsBucket,
          Key: key.replace(/drift\.json$/, "report.html"),
        }),
      );
    });

    it("flags input_3, and no other input, for the fleet and for the drifted device only", () => {
      const inputs = (features: FleetDrift["fleet"]["features"]) =>
        features.filter((f) => featureNames.includes(f.name));
      expect(
        inputs(drift.fleet.features)
          .filter((f) => f.drifted)
          .map((f) => f.name),
      ).toEqual(["input_3"]);
      for (const device of drift.devices) {
        const flagged = inputs(device.features)
          .filter((f) => f.drifted)
          .map((f) => f.name);
        expect([device.device, flagged]).toEqual([
          device.device,
          device.device === drifted ? ["input_3"] : [],
        ]);
      }
      expect(drift.devices.map((d) => d.records)).toEqual([400, 400, 400]);
    });
  });
});
