/**
 * Greengrass V2 state: component versions, deployments and core devices.
 *
 * In-process API for simulated devices (the fleet drives these; the HTTP side serves the SDK):
 * - `registerCoreDevice(thingName, groups, info?)` — a core device comes online as a member of
 *   the named thing groups (names, not ARNs). Idempotent; re-registering updates the groups.
 * - `pendingDeploymentsFor(thingName)` — the latest ACTIVE deployment of every target the device
 *   belongs to (its thing ARN and its groups) that the device has not yet finished, oldest first,
 *   with the components map to install. What a device polls for, as a nucleus gets its job.
 * - `latestDeploymentsFor(thingName)` — the same, finished or not (a nucleus keeps the latest per target).
 * - `componentRecipe(name, version)` — the parsed recipe of a DEPLOYABLE component version.
 * - `deployableVersions(name)` — every DEPLOYABLE version, for resolving dependency requirements.
 * - `reportEffectiveDeployment(thingName, deploymentId, status, reason?)` — the device's result
 *   (IN_PROGRESS | SUCCEEDED | FAILED | …). Also moves the deployment's IoT job execution for that
 *   thing, so iot DescribeJob `jobProcessDetails` counts move; a thing-targeted deployment
 *   becomes COMPLETED or FAILED.
 * - `reportInstalledComponents(thingName, list)` — what the device now runs (ListInstalledComponents).
 *
 * Reach the store of a running endpoint with `greengrassStoreOf(endpoint.url)` (index.ts).
 *
 * Component versions move REQUESTED → INITIATED → DEPLOYABLE on the endpoint's clock, or FAILED
 * when an s3:// artifact is missing or its Digest does not match.
 */

import { createHash, randomUUID } from "node:crypto";
import { join } from "node:path";
import type { EffectiveDeploymentExecutionStatus } from "@aws-sdk/client-greengrassv2";
import { JsonState } from "../server/state.ts";
import {
  AwsError,
  type Clock,
  type CreateIotJobInput,
  type IotJobsApi,
  type JobExecutionStatus,
  type ObjectStoreApi,
} from "../server/types.ts";
import {
  isSemver,
  parseRecipe,
  type Recipe,
  RecipeValidationError,
  recipePlatforms,
  s3Artifacts,
} from "./recipe.ts";

export type ComponentState = "REQUESTED" | "INITIATED" | "DEPLOYABLE" | "FAILED" | "DEPRECATED";
export type DeploymentStatus = "ACTIVE" | "COMPLETED" | "CANCELED" | "FAILED" | "INACTIVE";
/** A core device's status for one deployment, as ListEffectiveDeployments reports it. */
export type EffectiveStatus = EffectiveDeploymentExecutionStatus;

export interface ComponentVersionRecord {
  arn: string;
  componentName: string;
  componentVersion: string;
  /** Recipe bytes exactly as submitted, base64. */
  recipe: string;
  parsed: Recipe;
  creationTimestamp: string;
  publisher: string;
  description: string;
  status: { componentState: ComponentState; message: string; errors: Record<string, string> };
  tags: Record<string, string>;
  clientToken?: string;
}

export interface ComponentDeploymentSpec {
  componentVersion: string;
  configurationUpdate?: { merge?: string; reset?: string[] };
  runWith?: Record<string, unknown>;
}

export interface DeploymentRecord {
  deploymentId: string;
  deploymentName: string;
  targetArn: string;
  revisionId: string;
  components: Record<string, ComponentDeploymentSpec>;
  deploymentPolicies?: Record<string, unknown>;
  iotJobConfiguration?: Record<string, unknown>;
  parentTargetArn?: string;
  tags: Record<string, string>;
  creationTimestamp: string;
  deploymentStatus: DeploymentStatus;
  isLatestForTarget: boolean;
  iotJobId: string;
  iotJobArn: string;
  clientToken?: string;
  /** Request fingerprint for clientToken idempotency. */
  requestHash: string;
}

export interface EffectiveDeploymentRecord {
  deploymentId: string;
  status: EffectiveStatus;
  reason?: string;
  creationTimestamp: string;
  modifiedTimestamp: string;
}

export interface InstalledComponentRecord {
  componentName: string;
  componentVersion: string;
  lifecycleState:
    | "NEW"
    | "INSTALLED"
    | "STARTING"
    | "RUNNING"
    | "STOPPING"
    | "ERRORED"
    | "BROKEN"
    | "FINISHED";
  lifecycleStateDetails?: string;
  isRoot?: boolean;
}

export interface CoreDeviceRecord {
  coreDeviceThingName: string;
  groups: string[];
  coreVersion: string;
  platform: string;
  architecture: string;
  runtime: string;
  status: "HEALTHY" | "UNHEALTHY";
  lastStatusUpdateTimestamp: string;
  effective: Record<string, EffectiveDeploymentRecord>;
  installed: Array<
    InstalledComponentRecord & {
      lastStatusChangeTimestamp: string;
      lastReportedTimestamp: string;
      lastInstallationSource: string;
    }
  >;
}

interface GreengrassState {
  components: ComponentVersionRecord[];
  deployments: DeploymentRecord[];
  coreDevices: Record<string, CoreDeviceRecord>;
}

export interface PendingDeployment {
  deploymentId: string;
  deploymentName: string;
  targetArn: string;
  iotJobId: string;
  components: Record<string, ComponentDeploymentSpec>;
  deploymentPolicies?: Record<string, unknown>;
  creationTimestamp: Date;
}

export interface GreengrassStoreOptions {
  clock: Clock;
  region: string;
  accountId: string;
  stateDir: string;
  /** The endpoint's S3, where recipe artifacts must exist. */
  objects: Pick<ObjectStoreApi, "getObject">;
  /** The endpoint's IoT jobs store; each deployment runs as one job, DescribeJob counts come from it. */
  jobs: Pick<IotJobsApi, "createJob" | "updateExecution" | "cancelJob" | "thingsInGroup">;
  /** Clock seconds spent in REQUESTED and in INITIATED. */
  componentStepSeconds?: number;
}

const TERMINAL_EFFECTIVE = new Set<EffectiveStatus>([
  "FAILED",
  "COMPLETED",
  "TIMED_OUT",
  "CANCELED",
  "REJECTED",
  "SUCCEEDED",
]);
const JOB_STATUS: Record<EffectiveStatus, JobExecutionStatus> = {
  QUEUED: "QUEUED",
  IN_PROGRESS: "IN_PROGRESS",
  SUCCEEDED: "SUCCEEDED",
  COMPLETED: "SUCCEEDED",
  FAILED: "FAILED",
  TIMED_OUT: "TIMED_OUT",
  REJECTED: "REJECTED",
  CANCELED: "CANCELED",
};

export const greengrassNotFound = (what: string) =>
  new AwsError("ResourceNotFoundException", `${what} does not exist`, 404);
const greengrassValidation = (message: string) => new AwsError("ValidationException", message, 400);

const TARGET_ARN = /^arn:aws[a-z-]*:iot:[a-z0-9-]+:\d{12}:(thinggroup|thing)\/([a-zA-Z0-9:_-]+)$/;

export class GreengrassStore {
  private readonly file: JsonState<GreengrassState>;
  private readonly state: GreengrassState;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: GreengrassStoreOptions) {
    this.file = new JsonState<GreengrassState>(join(opts.stateDir, "greengrass.json"), {
      components: [],
      deployments: [],
      coreDevices: {},
    });
    this.state = this.file.data;
    // Versions still being checked when the endpoint stopped carry on where they were.
    for (const c of this.state.components) {
      if (c.status.componentState === "REQUESTED" || c.status.componentState === "INITIATED")
        this.track(this.progress(c));
    }
  }

  private saveScheduled = false;

  /**
   * Writes the state once per turn of the event loop: a fleet reporting thousands of results
   * would otherwise rewrite the whole file per report. `flush()` writes at once.
   */
  private save(): void {
    if (this.saveScheduled) return;
    this.saveScheduled = true;
    setImmediate(() => {
      if (!this.saveScheduled) return;
      this.saveScheduled = false;
      this.file.save();
    });
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for background component checks (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  flush(): void {
    this.saveScheduled = false;
    this.file.save();
  }

  private now(): string {
    return this.opts.clock.now().toISOString();
  }

  private arnPrefix(): string {
    return `arn:aws:greengrass:${this.opts.region}:${this.opts.accountId}:components:`;
  }

  componentArn(name: string): string {
    return `${this.arnPrefix()}${name}`;
  }

  componentVersionArn(name: string, version: string): string {
    return `${this.arnPrefix()}${name}:versions:${version}`;
  }

  /** Splits a component (version) ARN; throws ValidationException for anything else. */
  parseComponentArn(arn: string): { name: string; version?: string } {
    if (!arn.startsWith(this.arnPrefix()))
      throw greengrassValidation(`${arn} is not a component ARN of this account and Region`);
    const rest = arn.slice(this.arnPrefix().length);
    const i = rest.indexOf(":versions:");
    return i < 0 ? { name: rest } : { name: rest.slice(0, i), version: rest.slice(i + ":versions:".length) };
  }

  // ---- components -------------------------------------------------------------------------

  createComponentVersion(input: {
    inlineRecipe?: string;
    lambdaFunction?: unknown;
    tags?: Record<string, string>;
    clientToken?: string;
  }): ComponentVersionRecord {
    if (input.lambdaFunction !== undefined)
      throw greengrassValidation(
        "lambdaFunction recipes are not supported by the local endpoint; send inlineRecipe",
      );
    if (!input.inlineRecipe) throw greengrassValidation("inlineRecipe is required");
    const bytes = Buffer.from(input.inlineRecipe, "base64");
    let recipe: Recipe;
    try {
      recipe = parseRecipe(bytes);
    } catch (err) {
      if (err instanceof RecipeValidationError) throw greengrassValidation(err.message);
      throw err;
    }
    const existing = this.findVersion(recipe.ComponentName, recipe.ComponentVersion);
    if (existing) {
      // A retried call with the same token is answered with the version it created.
      if (
        input.clientToken &&
        existing.clientToken === input.clientToken &&
        existing.recipe === bytes.toString("base64")
      )
        return existing;
      throw new AwsError(
        "ConflictException",
        `Component ${recipe.ComponentName} version ${recipe.ComponentVersion} already exists`,
        409,
      );
    }
    const record: ComponentVersionRecord = {
      arn: this.componentVersionArn(recipe.ComponentName, recipe.ComponentVersion),
      componentName: recipe.ComponentName,
      componentVersion: recipe.ComponentVersion,
      recipe: bytes.toString("base64"),
      parsed: recipe,
      creationTimestamp: this.now(),
      publisher: recipe.ComponentPublisher ?? "",
      description: recipe.ComponentDescription ?? "",
      status: { componentState: "REQUESTED", message: "NONE", errors: {} },
      tags: input.tags ?? {},
      ...(input.clientToken ? { clientToken: input.clientToken } : {}),
    };
    this.state.components.push(record);
    this.save();
    this.track(this.progress(record));
    return record;
  }

  /** REQUESTED → INITIATED → artifact checks → DEPLOYABLE | FAILED, on the clock. */
  private async progress(record: ComponentVersionRecord): Promise<void> {
    const step = this.opts.componentStepSeconds ?? 1;
    try {
      if (record.status.componentState === "REQUESTED") {
        await this.opts.clock.sleep(step);
        record.status = { componentState: "INITIATED", message: "NONE", errors: {} };
        this.save();
      }
      await this.opts.clock.sleep(step);
      const errors = await this.checkArtifacts(record.parsed);
      record.status =
        Object.keys(errors).length === 0
          ? { componentState: "DEPLOYABLE", message: "NONE", errors: {} }
          : { componentState: "FAILED", message: Object.values(errors).join("; "), errors };
    } catch (err) {
      record.status = {
        componentState: "FAILED",
        message: `artifact check failed: ${(err as Error).message}`,
        errors: {},
      };
    }
    this.save();
  }

  private async checkArtifacts(recipe: Recipe): Promise<Record<string, string>> {
    const errors: Record<string, string> = {};
    for (const a of s3Artifacts(recipe)) {
      const bytes = await this.opts.objects.getObject(a.bucket, a.key);
      if (!bytes) {
        errors[a.Uri] = `${a.where}: artifact ${a.Uri} does not exist`;
        continue;
      }
      if (a.Digest === undefined) continue;
      const digest = createHash("sha256").update(bytes).digest();
      // Greengrass writes the digest base64-encoded; hex is accepted too since some tools emit it.
      if (a.Digest !== digest.toString("base64") && a.Digest.toLowerCase() !== digest.toString("hex")) {
        errors[a.Uri] =
          `${a.where}: artifact ${a.Uri} digest mismatch (recipe ${a.Digest}, object ${digest.toString("base64")})`;
      }
    }
    return errors;
  }

  findVersion(name: string, version: string): ComponentVersionRecord | undefined {
    return this.state.components.find((c) => c.componentName === name && c.componentVersion === version);
  }

  getComponentVersion(arn: string): ComponentVersionRecord {
    const { name, version } = this.parseComponentArn(arn);
    if (version === undefined)
      throw greengrassValidation(`${arn} names a component, not a component version`);
    const found = this.findVersion(name, version);
    if (!found) throw greengrassNotFound(`Component version ${name}:${version}`);
    return found;
  }

  /** Versions of one component, newest semantic version first. */
  versionsOf(arn: string): ComponentVersionRecord[] {
    const { name, version } = this.parseComponentArn(arn);
    if (version !== undefined)
      throw greengrassValidation(`${arn} names a component version, not a component`);
    const versions = this.state.components.filter((c) => c.componentName === name);
    if (versions.length === 0) throw greengrassNotFound(`Component ${name}`);
    return versions.sort((a, b) => compareSemver(b.componentVersion, a.componentVersion));
  }

  /** One entry per component with its latest version (scope PRIVATE: this account's components). */
  listComponents(): Array<{ arn: string; componentName: string; latest: ComponentVersionRecord }> {
    const names = [...new Set(this.state.components.map((c) => c.componentName))].sort();
    return names.map((name) => {
      const latest = this.versionsOf(this.componentArn(name))[0] as ComponentVersionRecord;
      return { arn: this.componentArn(name), componentName: name, latest };
    });
  }

  componentRecipe(name: string, version: string): Recipe {
    const found = this.findVersion(name, version);
    if (!found) throw greengrassNotFound(`Component version ${name}:${version}`);
    if (found.status.componentState !== "DEPLOYABLE")
      throw greengrassValidation(`Component version ${name}:${version} is ${found.status.componentState}`);
    return found.parsed;
  }

  /** Every DEPLOYABLE version of a component, oldest first (for resolving dependency requirements). */
  deployableVersions(name: string): string[] {
    return this.state.components
      .filter((c) => c.componentName === name && c.status.componentState === "DEPLOYABLE")
      .map((c) => c.componentVersion)
      .sort(compareSemver);
  }

  platformsOf(record: ComponentVersionRecord): Array<{ name?: string; attributes: Record<string, string> }> {
    return recipePlatforms(record.parsed);
  }

  // ---- deployments ------------------------------------------------------------------------

  async createDeployment(input: {
    targetArn?: string;
    deploymentName?: string;
    components?: Record<string, ComponentDeploymentSpec>;
    iotJobConfiguration?: Record<string, unknown>;
    deploymentPolicies?: Record<string, unknown>;
    parentTargetArn?: string;
    tags?: Record<string, string>;
    clientToken?: string;
  }): Promise<DeploymentRecord> {
    const targetArn = input.targetArn;
    if (!targetArn) throw greengrassValidation("targetArn is required");
    const target = TARGET_ARN.exec(targetArn);
    if (!target) throw greengrassValidation(`targetArn ${targetArn} must be an IoT thing or thing group ARN`);
    const components = input.components ?? {};
    const requestHash = createHash("sha256")
      .update(
        JSON.stringify([
          targetArn,
          input.deploymentName,
          components,
          input.iotJobConfiguration,
          input.deploymentPolicies,
        ]),
      )
      .digest("hex");
    if (input.clientToken) {
      const prior = this.state.deployments.find((d) => d.clientToken === input.clientToken);
      if (prior) {
        if (prior.requestHash === requestHash) return prior;
        throw new AwsError(
          "ConflictException",
          `clientToken ${input.clientToken} was already used with different parameters`,
          409,
        );
      }
    }
    for (const [name, spec] of Object.entries(components)) {
      if (!spec || typeof spec.componentVersion !== "string")
        throw greengrassValidation(`components.${name}.componentVersion is required`);
      const version = this.findVersion(name, spec.componentVersion);
      if (!version)
        throw greengrassValidation(
          `components.${name}: component version ${name}:${spec.componentVersion} does not exist`,
        );
      if (version.status.componentState !== "DEPLOYABLE") {
        throw greengrassValidation(
          `components.${name}: component version ${name}:${spec.componentVersion} is ${version.status.componentState}, not DEPLOYABLE`,
        );
      }
    }
    const previous = this.state.deployments.filter((d) => d.targetArn === targetArn);
    const latest = previous.find((d) => d.isLatestForTarget);
    const deploymentId = randomUUID();
    const thingNames =
      target[1] === "thing" ? [target[2] as string] : await this.thingsInGroup(target[2] as string);
    const document = JSON.stringify({
      deploymentId,
      targetArn,
      components,
      deploymentPolicies: input.deploymentPolicies ?? {},
    });
    const config = input.iotJobConfiguration ?? {};
    const job = await this.opts.jobs.createJob({
      jobId: randomUUID(),
      targets: [targetArn],
      document,
      description: `Greengrass deployment ${deploymentId}`,
      // Greengrass thing-group deployments are continuous: devices that join later get the job too.
      targetSelection: target[1] === "thing" ? "SNAPSHOT" : "CONTINUOUS",
      ...(config.jobExecutionsRolloutConfig
        ? { jobExecutionsRolloutConfig: config.jobExecutionsRolloutConfig as { maximumPerMinute?: number } }
        : {}),
      ...(config.abortConfig
        ? { abortConfig: config.abortConfig as NonNullable<CreateIotJobInput["abortConfig"]> }
        : {}),
      ...(config.timeoutConfig
        ? { timeoutConfig: config.timeoutConfig as { inProgressTimeoutInMinutes?: number } }
        : {}),
    });
    // The new revision supersedes the previous one: its job is cancelled and it stops being current.
    if (latest) {
      latest.isLatestForTarget = false;
      if (latest.deploymentStatus === "ACTIVE") {
        latest.deploymentStatus = "INACTIVE";
        await this.opts.jobs.cancelJob(latest.iotJobId, {
          reasonCode: "SUPERSEDED",
          comment: `superseded by deployment ${deploymentId}`,
          force: true,
        });
        this.cancelEffective(latest.deploymentId, `superseded by deployment ${deploymentId}`);
      }
    }
    const now = this.now();
    const record: DeploymentRecord = {
      deploymentId,
      deploymentName: input.deploymentName ?? `Deployment for ${target[2]}`,
      targetArn,
      revisionId: String(previous.length + 1),
      components,
      ...(input.deploymentPolicies ? { deploymentPolicies: input.deploymentPolicies } : {}),
      ...(input.iotJobConfiguration ? { iotJobConfiguration: input.iotJobConfiguration } : {}),
      ...(input.parentTargetArn ? { parentTargetArn: input.parentTargetArn } : {}),
      tags: input.tags ?? {},
      creationTimestamp: now,
      deploymentStatus: "ACTIVE",
      isLatestForTarget: true,
      iotJobId: job.jobId,
      iotJobArn: job.jobArn,
      ...(input.clientToken ? { clientToken: input.clientToken } : {}),
      requestHash,
    };
    this.state.deployments.push(record);
    for (const thing of thingNames) {
      const device = this.state.coreDevices[thing];
      if (device)
        device.effective[deploymentId] = {
          deploymentId,
          status: "QUEUED",
          creationTimestamp: now,
          modifiedTimestamp: now,
        };
    }
    this.save();
    return record;
  }

  private cancelEffective(deploymentId: string, reason: string): void {
    for (const device of Object.values(this.state.coreDevices)) {
      const e = device.effective[deploymentId];
      if (e && !TERMINAL_EFFECTIVE.has(e.status))
        Object.assign(e, { status: "CANCELED", reason, modifiedTimestamp: this.now() });
    }
  }

  private async thingsInGroup(groupName: string): Promise<string[]> {
    const registered = Object.values(this.state.coreDevices)
      .filter((d) => d.groups.includes(groupName))
      .map((d) => d.coreDeviceThingName);
    return [...new Set([...(await this.opts.jobs.thingsInGroup(groupName)), ...registered])].sort();
  }

  getDeployment(deploymentId: string): DeploymentRecord {
    const found = this.state.deployments.find((d) => d.deploymentId === deploymentId);
    if (!found) throw greengrassNotFound(`Deployment ${deploymentId}`);
    return found;
  }

  /** Newest first, as the console shows them. */
  listDeployments(filter: {
    targetArn?: string;
    historyFilter?: string;
    parentTargetArn?: string;
  }): DeploymentRecord[] {
    const history = filter.historyFilter ?? "LATEST_ONLY";
    if (history !== "ALL" && history !== "LATEST_ONLY")
      throw greengrassValidation(`historyFilter must be ALL or LATEST_ONLY, not ${history}`);
    return this.state.deployments
      .filter((d) => (filter.targetArn ? d.targetArn === filter.targetArn : true))
      .filter((d) => (filter.parentTargetArn ? d.parentTargetArn === filter.parentTargetArn : true))
      .filter((d) => history === "ALL" || d.isLatestForTarget)
      .map((d, i) => ({ d, i }))
      .sort((a, b) => b.d.creationTimestamp.localeCompare(a.d.creationTimestamp) || b.i - a.i)
      .map(({ d }) => d);
  }

  async cancelDeployment(deploymentId: string): Promise<string> {
    const d = this.getDeployment(deploymentId);
    if (d.deploymentStatus !== "ACTIVE") {
      throw new AwsError(
        "ConflictException",
        `Deployment ${deploymentId} is ${d.deploymentStatus} and cannot be canceled`,
        409,
      );
    }
    d.deploymentStatus = "CANCELED";
    await this.opts.jobs.cancelJob(d.iotJobId, {
      reasonCode: "CANCELED",
      comment: "deployment canceled",
      force: true,
    });
    this.cancelEffective(deploymentId, "deployment canceled");
    this.save();
    return `Deployment ${deploymentId} canceled`;
  }

  // ---- core devices (in-process device API) ------------------------------------------------

  registerCoreDevice(
    thingName: string,
    groups: string[],
    info: { platform?: string; architecture?: string; coreVersion?: string } = {},
  ): CoreDeviceRecord {
    if (!/^[a-zA-Z0-9:_-]{1,128}$/.test(thingName))
      throw greengrassValidation(`thing name ${thingName} is not valid`);
    const now = this.now();
    const existing = this.state.coreDevices[thingName];
    const device: CoreDeviceRecord = {
      coreDeviceThingName: thingName,
      groups: [...new Set(groups)],
      coreVersion: info.coreVersion ?? existing?.coreVersion ?? "2.14.0",
      platform: info.platform ?? existing?.platform ?? "linux",
      architecture: info.architecture ?? existing?.architecture ?? "amd64",
      runtime: "aws_nucleus_classic",
      status: "HEALTHY",
      lastStatusUpdateTimestamp: now,
      effective: existing?.effective ?? {},
      installed: existing?.installed ?? [],
    };
    this.state.coreDevices[thingName] = device;
    this.save();
    return device;
  }

  getCoreDevice(thingName: string): CoreDeviceRecord {
    const found = this.state.coreDevices[thingName];
    if (!found) throw greengrassNotFound(`Core device ${thingName}`);
    return found;
  }

  listCoreDevices(filter: { thingGroupArn?: string; status?: string; runtime?: string }): CoreDeviceRecord[] {
    const group = filter.thingGroupArn ? TARGET_ARN.exec(filter.thingGroupArn) : undefined;
    if (filter.thingGroupArn && group?.[1] !== "thinggroup")
      throw greengrassValidation(`thingGroupArn ${filter.thingGroupArn} is not a thing group ARN`);
    return Object.values(this.state.coreDevices)
      .filter((d) => (group ? d.groups.includes(group[2] as string) : true))
      .filter((d) => (filter.status ? d.status === filter.status : true))
      .filter((d) => (filter.runtime ? d.runtime === filter.runtime : true))
      .sort((a, b) => a.coreDeviceThingName.localeCompare(b.coreDeviceThingName));
  }

  private targetsOf(device: CoreDeviceRecord): Set<string> {
    const arn = (kind: string, name: string) =>
      `arn:aws:iot:${this.opts.region}:${this.opts.accountId}:${kind}/${name}`;
    return new Set([
      arn("thing", device.coreDeviceThingName),
      ...device.groups.map((g) => arn("thinggroup", g)),
    ]);
  }

  pendingDeploymentsFor(thingName: string): PendingDeployment[] {
    const device = this.getCoreDevice(thingName);
    return this.latestDeploymentsFor(thingName).filter((d) => {
      const e = device.effective[d.deploymentId];
      return !e || !TERMINAL_EFFECTIVE.has(e.status);
    });
  }

  /** The current (latest, ACTIVE or finished for a thing) deployment of every target the device belongs to, finished or not. */
  latestDeploymentsFor(thingName: string): PendingDeployment[] {
    const device = this.getCoreDevice(thingName);
    const targets = this.targetsOf(device);
    return this.state.deployments
      .filter((d) => d.isLatestForTarget && d.deploymentStatus !== "CANCELED" && targets.has(d.targetArn))
      .sort((a, b) => a.creationTimestamp.localeCompare(b.creationTimestamp))
      .map((d) => ({
        deploymentId: d.deploymentId,
        deploymentName: d.deploymentName,
        targetArn: d.targetArn,
        iotJobId: d.iotJobId,
        components: structuredClone(d.components),
        ...(d.deploymentPolicies ? { deploymentPolicies: structuredClone(d.deploymentPolicies) } : {}),
        creationTimestamp: new Date(d.creationTimestamp),
      }));
  }

  async reportEffectiveDeployment(
    thingName: string,
    deploymentId: string,
    status: EffectiveStatus,
    reason?: string,
  ): Promise<void> {
    if (!(status in JOB_STATUS))
      throw greengrassValidation(`status ${status} is not an effective deployment status`);
    const device = this.getCoreDevice(thingName);
    const deployment = this.getDeployment(deploymentId);
    const now = this.now();
    const prior = device.effective[deploymentId];
    device.effective[deploymentId] = {
      deploymentId,
      status,
      ...(reason ? { reason } : {}),
      creationTimestamp: prior?.creationTimestamp ?? now,
      modifiedTimestamp: now,
    };
    device.lastStatusUpdateTimestamp = now;
    device.status = status === "FAILED" ? "UNHEALTHY" : "HEALTHY";
    // A superseded or canceled deployment's job no longer accepts updates, as on AWS.
    if (deployment.deploymentStatus === "ACTIVE") {
      try {
        await this.opts.jobs.updateExecution(
          deployment.iotJobId,
          thingName,
          JOB_STATUS[status],
          reason ? { reason } : undefined,
        );
      } catch (err) {
        // A device repeating its final report is not an error; the execution already holds it.
        if (!(err instanceof AwsError && err.code === "InvalidStateTransitionException")) throw err;
      }
      if (deployment.targetArn.includes(":thing/") && TERMINAL_EFFECTIVE.has(status)) {
        deployment.deploymentStatus = JOB_STATUS[status] === "SUCCEEDED" ? "COMPLETED" : "FAILED";
      }
    }
    this.save();
  }

  reportInstalledComponents(thingName: string, list: InstalledComponentRecord[]): void {
    const device = this.getCoreDevice(thingName);
    const now = this.now();
    device.installed = list.map((c) => {
      const before = device.installed.find((i) => i.componentName === c.componentName);
      const changed =
        !before ||
        before.componentVersion !== c.componentVersion ||
        before.lifecycleState !== c.lifecycleState;
      return {
        ...c,
        isRoot: c.isRoot ?? true,
        lastStatusChangeTimestamp: changed ? now : (before?.lastStatusChangeTimestamp ?? now),
        lastReportedTimestamp: now,
        lastInstallationSource:
          before && !changed ? before.lastInstallationSource : this.latestSourceFor(device, c.componentName),
      };
    });
    device.lastStatusUpdateTimestamp = now;
    this.save();
  }

  private latestSourceFor(device: CoreDeviceRecord, componentName: string): string {
    const targets = this.targetsOf(device);
    const d = this.state.deployments
      .filter((x) => x.isLatestForTarget && targets.has(x.targetArn) && componentName in x.components)
      .at(-1);
    return d?.targetArn ?? "LOCAL";
  }

  effectiveDeployments(
    thingName: string,
  ): Array<EffectiveDeploymentRecord & { deployment: DeploymentRecord }> {
    const device = this.getCoreDevice(thingName);
    return Object.values(device.effective)
      .map((e) => ({ ...e, deployment: this.getDeployment(e.deploymentId) }))
      .sort((a, b) => b.creationTimestamp.localeCompare(a.creationTimestamp));
  }
}

/** Orders semantic versions by precedence (pre-releases before their release). */
export function compareSemver(a: string, b: string): number {
  if (!isSemver(a) || !isSemver(b)) return a.localeCompare(b);
  const split = (v: string) => {
    const [core = "", pre] = v.split("+")[0]?.split(/-(.*)/s) ?? [];
    return { nums: core.split(".").map(Number), pre };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre.localeCompare(y.pre, undefined, { numeric: true });
}
