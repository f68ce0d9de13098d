/**
 * What a simulated Greengrass core device needs from "the cloud", kept small so the nucleus
 * logic does not depend on how the local endpoint stores deployments. `cloud.ts` adapts the
 * local Greengrass store and the Greengrass API to it; tests can hand in a fake.
 */

import type { EffectiveDeploymentExecutionStatus } from "@aws-sdk/client-greengrassv2";

export type FailureHandlingPolicy = "ROLLBACK" | "DO_NOTHING";

/** One component entry of a deployment, as CreateDeployment takes it. */
export interface DeploymentComponent {
  componentVersion: string;
  configurationUpdate?: { merge?: string; reset?: string[] };
}

/** The deployment document a nucleus receives through its IoT job. */
export interface DeploymentDocument {
  deploymentId: string;
  /** Thing or thing group ARN the deployment targets; a device keeps the latest one per target. */
  targetArn: string;
  /** IoT job that carries the deployment to the device, when the store has one. */
  iotJobId?: string;
  components: Record<string, DeploymentComponent>;
  failureHandlingPolicy: FailureHandlingPolicy;
  /** Milliseconds since the epoch; orders deployments to the same target. */
  createdAt: number;
}

/** A device's status for one deployment: Greengrass's own enum. */
export type EffectiveDeploymentStatus = EffectiveDeploymentExecutionStatus;

/** One installed component as ListInstalledComponents reports it. */
export interface InstalledComponent {
  componentName: string;
  componentVersion: string;
  lifecycleState:
    | "RUNNING"
    | "FINISHED"
    | "INSTALLED"
    | "BROKEN"
    | "ERRORED"
    | "STARTING"
    | "STOPPING"
    | "NEW";
  isRoot: boolean;
}

/** The parts of a Greengrass recipe the nucleus reads (RecipeFormatVersion 2020-01-25, JSON). */
export interface ComponentRecipe {
  RecipeFormatVersion?: string;
  ComponentName: string;
  ComponentVersion: string;
  ComponentType?: string;
  ComponentDependencies?: Record<string, { VersionRequirement?: string; DependencyType?: string }>;
  ComponentConfiguration?: { DefaultConfiguration?: Record<string, unknown> };
  Manifests?: Array<{
    Platform?: Record<string, string>;
    Lifecycle?: unknown;
    Artifacts?: Array<{ Uri: string; Digest?: string; Algorithm?: string; Unarchive?: string }>;
  }>;
}

export interface NucleusCloud {
  /** Registers the thing, its group memberships and the core device (idempotent). */
  registerDevice(thingName: string, thingGroupNames: string[]): Promise<void>;
  /** The latest deployment per target (the thing itself and each group it belongs to). */
  deploymentsFor(thingName: string): Promise<DeploymentDocument[]>;
  getRecipe(componentName: string, componentVersion: string): Promise<ComponentRecipe>;
  /** Every published version of a component, for resolving dependency requirements. */
  listVersions(componentName: string): Promise<string[]>;
  reportDeployment(
    thingName: string,
    deployment: DeploymentDocument,
    status: EffectiveDeploymentStatus,
    reason?: string,
  ): Promise<void>;
  reportInstalledComponents(thingName: string, components: InstalledComponent[]): Promise<void>;
}

/** Where a feature transformation applies from; both unset means from the start. */
export interface DriftWindow {
  /** From this time on (ms since the epoch). */
  fromTime?: number;
  /** From this model component version on (semver comparison). */
  fromVersion?: string;
}

/** Shift a feature by `shiftSigmas` standard deviations and/or scale its deviation from the mean. */
export interface FeatureDrift extends DriftWindow {
  feature: string;
  shiftSigmas?: number;
  scale?: number;
}

/** Per-device behaviour that tests and the demo turn on. */
export interface DeviceKnobs {
  /** Components whose install fails on this device: name → versions (empty or "*" for every version). */
  failInstall?: Array<{ componentName: string; versions?: string[] }>;
  drift?: FeatureDrift[];
}
