import type { S3Client } from "@aws-sdk/client-s3";
import { ArtifactError, type InstalledArtifacts, installArtifacts } from "./artifacts.ts";
import { type ResolvedComponent, resolveComponentSet } from "./resolve.ts";
import type { DeploymentDocument, DeviceKnobs, InstalledComponent, NucleusCloud } from "./types.ts";

/** An install step failed on purpose (knob) or for real; the deployment fails on this device. */
export class InstallError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InstallError";
  }
}

/** A component set with its artifacts on disk, ready to run. */
export interface InstalledSet {
  thingName: string;
  components: Array<ResolvedComponent & InstalledArtifacts>;
}

/** What runs the components of a set: the fleet starts the real inference component. */
export interface ComponentHost {
  start(set: InstalledSet): Promise<RunningComponents>;
}

export interface RunningComponents {
  /** Names of components with a long-running lifecycle (reported RUNNING; the rest FINISHED). */
  running: string[];
  close(): Promise<void>;
}

export interface DeviceOptions {
  thingName: string;
  thingGroupNames: string[];
  cloud: NucleusCloud;
  /** The device's own S3 client, with credentials from the token exchange service. */
  s3: S3Client;
  /** Greengrass root folder of this device. */
  rootPath: string;
  host: ComponentHost;
  knobs?: DeviceKnobs;
  log?: (line: string) => void;
}

/** One deployment as this device handled it, newest last. */
export interface DeploymentOutcome {
  deploymentId: string;
  targetArn: string;
  status: "SUCCEEDED" | "FAILED";
  reason?: string;
  rolledBack: boolean;
  at: number;
}

/**
 * A simulated Greengrass core device: each `poll()` is one nucleus cycle — pick up new
 * deployments for the thing and its groups, resolve the component set, download and verify
 * artifacts, restart the components, report the effective deployment and installed components;
 * on failure with ROLLBACK go back to the previous set.
 */
export class SimulatedDevice {
  readonly thingName: string;
  readonly thingGroupNames: string[];
  knobs: DeviceKnobs;
  readonly history: DeploymentOutcome[] = [];
  /** Deployments applied successfully, by target: what the component set is resolved from. */
  private active = new Map<string, DeploymentDocument>();
  /** Last deployment id handled per target, succeeded or not, so a failed one is not retried. */
  private seen = new Map<string, string>();
  private current: InstalledSet | undefined;
  private running: RunningComponents | undefined;
  private polling: Promise<void> | undefined;

  constructor(private readonly options: DeviceOptions) {
    this.thingName = options.thingName;
    this.thingGroupNames = options.thingGroupNames;
    this.knobs = options.knobs ?? {};
  }

  async register(): Promise<void> {
    await this.options.cloud.registerDevice(this.thingName, this.thingGroupNames);
    await this.options.cloud.reportInstalledComponents(this.thingName, []);
  }

  /** Component name → version of what the device runs now. */
  components(): Map<string, string> {
    return new Map((this.current?.components ?? []).map((c) => [c.name, c.version]));
  }

  installedSet(): InstalledSet | undefined {
    return this.current;
  }

  /** One nucleus cycle; concurrent calls share the cycle in flight. */
  poll(): Promise<void> {
    this.polling ??= this.cycle().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  async stop(): Promise<void> {
    await this.polling;
    await this.running?.close();
    this.running = undefined;
  }

  private async cycle(): Promise<void> {
    const latest = await this.options.cloud.deploymentsFor(this.thingName);
    const fresh = latest
      .filter((d) => this.seen.get(d.targetArn) !== d.deploymentId)
      .sort((a, b) => a.createdAt - b.createdAt);
    for (const deployment of fresh) await this.apply(deployment);
  }

  private async apply(deployment: DeploymentDocument): Promise<void> {
    const { cloud } = this.options;
    this.seen.set(deployment.targetArn, deployment.deploymentId);
    await cloud.reportDeployment(this.thingName, deployment, "IN_PROGRESS");
    const targets = new Map(this.active);
    targets.set(deployment.targetArn, deployment);
    const previous = this.current;
    let next: InstalledSet | undefined;
    try {
      next = await this.install([...targets.values()]);
      await this.restart(next);
    } catch (error) {
      const reason = (error as Error).message;
      const rollback = deployment.failureHandlingPolicy === "ROLLBACK";
      this.options.log?.(
        `${this.thingName}: deployment ${deployment.deploymentId} failed: ${reason}${rollback ? "; rolling back" : ""}`,
      );
      if (rollback) {
        await this.restoreAfterFailure(previous);
      } else if (next) {
        // DO_NOTHING: the device stays on what it got to, with the failed set recorded as broken.
        this.active = targets;
        this.current = next;
      }
      this.history.push({
        deploymentId: deployment.deploymentId,
        targetArn: deployment.targetArn,
        status: "FAILED",
        reason,
        rolledBack: rollback,
        at: Date.now(),
      });
      await cloud.reportDeployment(this.thingName, deployment, "FAILED", reason);
      await cloud.reportInstalledComponents(
        this.thingName,
        this.installedReport(!rollback && next ? "BROKEN" : undefined),
      );
      return;
    }
    this.active = targets;
    this.current = next;
    this.history.push({
      deploymentId: deployment.deploymentId,
      targetArn: deployment.targetArn,
      status: "SUCCEEDED",
      rolledBack: false,
      at: Date.now(),
    });
    await cloud.reportInstalledComponents(this.thingName, this.installedReport());
    await cloud.reportDeployment(this.thingName, deployment, "SUCCEEDED");
  }

  private async install(deployments: DeploymentDocument[]): Promise<InstalledSet> {
    const { cloud, s3, rootPath } = this.options;
    const resolved = await resolveComponentSet(deployments, cloud, this.components());
    const have = new Map((this.current?.components ?? []).map((c) => [`${c.name}@${c.version}`, c]));
    const components: InstalledSet["components"] = [];
    for (const component of resolved) {
      const injected = this.knobs.failInstall?.find(
        (f) =>
          f.componentName === component.name &&
          (!f.versions?.length || f.versions.includes("*") || f.versions.includes(component.version)),
      );
      if (injected)
        throw new InstallError(`${component.name}@${component.version}: install failed (injected failure)`);
      const already = have.get(`${component.name}@${component.version}`);
      if (already) {
        components.push({
          ...component,
          artifactsPath: already.artifactsPath,
          decompressedPath: already.decompressedPath,
          files: already.files,
        });
        continue;
      }
      try {
        components.push({ ...component, ...(await installArtifacts(component.recipe, s3, rootPath)) });
      } catch (error) {
        if (error instanceof ArtifactError) throw new InstallError(error.message, { cause: error });
        throw error;
      }
    }
    return { thingName: this.thingName, components };
  }

  private async restart(set: InstalledSet): Promise<void> {
    const unchanged =
      this.running &&
      this.current &&
      set.components.length === this.current.components.length &&
      set.components.every((c) =>
        this.current?.components.some((p) => p.name === c.name && p.version === c.version),
      );
    if (unchanged) return;
    await this.running?.close();
    this.running = undefined;
    try {
      this.running = await this.options.host.start(set);
    } catch (error) {
      throw new InstallError(`components failed to start: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Rollback: the previous set runs again (it was stopped only if the new set got as far as starting). */
  private async restoreAfterFailure(previous: InstalledSet | undefined): Promise<void> {
    this.current = previous;
    if (this.running || !previous) return;
    try {
      this.running = await this.options.host.start(previous);
    } catch (error) {
      this.options.log?.(
        `${this.thingName}: previous components failed to restart: ${(error as Error).message}`,
      );
    }
  }

  private installedReport(brokenState?: "BROKEN"): InstalledComponent[] {
    const running = new Set(this.running?.running ?? []);
    return (this.current?.components ?? []).map((c) => ({
      componentName: c.name,
      componentVersion: c.version,
      lifecycleState: brokenState ?? (running.has(c.name) ? "RUNNING" : "FINISHED"),
      isRoot: c.isRoot,
    }));
  }
}
