import {
  ListEffectiveDeploymentsCommand,
  ListInstalledComponentsCommand,
} from "@aws-sdk/client-greengrassv2";
import { DescribeJobCommand } from "@aws-sdk/client-iot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveNewVersion, type Loop, MODEL_COMPONENT, type Rollout, startLoop } from "./loop.ts";

// Version 1 rolls out; version 2's model component fails to install on the canary devices,
// which roll themselves back; the canary gate fails and the pipeline rolls the group back.
let loop: Loop;
let first: Rollout;
let second: Rollout;

beforeAll(async () => {
  loop = await startLoop({ canary: 2, fleet: 2 });
  first = await approveNewVersion(loop);
  for (const device of loop.fleet.fleet.inGroup("canary")) {
    device.knobs = {
      failInstall: [{ componentName: MODEL_COMPONENT, versions: [`1.0.${first.version + 1}`] }],
    };
  }
  second = await approveNewVersion(loop);
});
afterAll(async () => {
  await loop?.dispose();
});

describe("a version that fails to install on the canary", () => {
  it("fails the canary gate, rolls back and ends FAILED without touching the fleet group", () => {
    expect(first.status).toBe("SUCCEEDED");
    expect(second.version).toBe(first.version + 1);
    expect(second.status).toBe("FAILED");
    const gate = second.states.lastIndexOf("RolloutGate");
    expect(second.states.slice(gate)).toEqual([
      "RolloutGate",
      "Rollback",
      "RolledBackAfterError?",
      "NotifyRolledBack",
      "RolledBack",
    ]);
    // Only the canary stage was deployed to.
    expect(second.states.filter((s) => s === "DeployStage")).toHaveLength(1);
    expect(second.states).not.toContain("NotifySucceeded");
  });

  it("leaves every device on the previous version, canary devices by their own rollback", async () => {
    const previous = `1.0.${first.version}`;
    const failed = `1.0.${second.version}`;
    for (const device of loop.fleet.devices) {
      expect([device.thingName, device.components().get(MODEL_COMPONENT)]).toEqual([
        device.thingName,
        previous,
      ]);
      const installed = await loop.clients.greengrass.send(
        new ListInstalledComponentsCommand({ coreDeviceThingName: device.thingName }),
      );
      expect(
        installed.installedComponents?.find((c) => c.componentName === MODEL_COMPONENT)?.componentVersion,
      ).toBe(previous);
    }
    for (const device of loop.fleet.fleet.inGroup("canary")) {
      const outcome = device.history.find((h) => h.status === "FAILED");
      expect(outcome).toMatchObject({
        rolledBack: true,
        reason: `${MODEL_COMPONENT}@${failed}: install failed (injected failure)`,
      });
      const effective = await loop.clients.greengrass.send(
        new ListEffectiveDeploymentsCommand({ coreDeviceThingName: device.thingName }),
      );
      const bad = effective.effectiveDeployments?.find((d) => d.deploymentId === outcome?.deploymentId);
      expect(bad?.coreDeviceExecutionStatus).toBe("FAILED");
      // The pipeline's rollback deployment came after and succeeded (the device was already back).
      expect(device.history.at(-1)).toMatchObject({ status: "SUCCEEDED", targetArn: outcome?.targetArn });
      expect(device.history.at(-1)?.deploymentId).not.toBe(outcome?.deploymentId);
      const job = await loop.clients.iot.send(new DescribeJobCommand({ jobId: bad?.iotJobId }));
      expect(job.job?.jobProcessDetails?.numberOfFailedThings).toBeGreaterThanOrEqual(1);
    }
    for (const device of loop.fleet.fleet.inGroup("fleet")) {
      expect(device.history.some((h) => h.status === "FAILED")).toBe(false);
    }
  });
});
