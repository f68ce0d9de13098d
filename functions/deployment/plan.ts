import type { HardwareTarget, PackagingStrategy, RolloutStage } from "../../config/types.ts";

/** What flows between the states. Everything is plain JSON: Step Functions carries it. */

export type Trigger = "approval" | "schedule" | "manual";

export interface PollSettings {
  seconds: number;
  maxPolls: number;
}

export interface PlannedTarget extends HardwareTarget {
  framework: string;
  dataInputConfig: string;
  compilationJobName: string;
  /** Where Neo writes its output: s3://<artifact bucket>/compiled/<group>/<version>/<target>/ */
  compilationOutputUri: string;
}

export interface DeploymentPlan {
  executionName: string;
  trigger: Trigger;
  forced: boolean;
  modelPackageArn: string;
  modelPackageGroupName: string;
  modelPackageVersion: number;
  approvalStatus: string;
  /** Compile from the versioned package (Neo reads it) or from its artifact with our InputConfig. */
  compileFromPackage: boolean;
  modelDataUrl?: string;
  componentName: string;
  componentVersion: string;
  inferenceComponentName: string;
  inferenceComponentVersionRequirement: string;
  packagingStrategy: PackagingStrategy;
  compilationTimeoutSeconds: number;
  targets: PlannedTarget[];
  stages: RolloutStage[];
  poll: { compilation: PollSettings; packaging: PollSettings; rollout: { seconds: number } };
}

/** One Map iteration's state: the target, and after StartCompilation its job. */
export interface CompilationState {
  plan: Pick<
    DeploymentPlan,
    | "modelPackageArn"
    | "modelPackageGroupName"
    | "modelPackageVersion"
    | "compileFromPackage"
    | "modelDataUrl"
    | "compilationTimeoutSeconds"
    | "poll"
  >;
  target: PlannedTarget;
  compilation?: {
    jobName: string;
    jobArn?: string;
    status: string;
    polls: number;
    adopted: boolean;
    artifactUri?: string;
  };
}

export interface CompiledTarget {
  target: PlannedTarget;
  compilation: { jobName: string; status: "COMPLETED"; artifactUri: string; polls: number; adopted: boolean };
}

export interface PackagedComponent {
  componentName: string;
  componentVersion: string;
  componentVersionArn?: string;
}

export interface PackagingState {
  strategy: PackagingStrategy;
  status: "IN_PROGRESS" | "DEPLOYABLE";
  polls: number;
  components: PackagedComponent[];
  /** component strategy: the uploaded artifacts; edge-packaging-job: the jobs. */
  artifacts?: { target: string; uri: string; sha256: string }[];
  jobs?: { target: string; jobName: string; componentName: string; status: string }[];
}

export interface DeploymentComponentSpec {
  componentVersion?: string;
  configurationUpdate?: { merge?: string; reset?: string[] };
  runWith?: Record<string, unknown>;
}

export interface TouchedStage {
  stageName: string;
  targetArn: string;
  deploymentId: string;
  previousDeploymentId?: string;
  previousComponents?: Record<string, DeploymentComponentSpec>;
}

export interface StageProgress {
  stageIndex: number;
  stageName: string;
  deploymentId: string;
  startedAt: string;
  polls: number;
  status: "IN_PROGRESS" | "PASSED" | "FAILED";
  thresholdReachedAt?: string;
  counts?: DeviceCounts;
  reason?: string;
}

export interface DeviceCounts {
  total: number;
  succeeded: number;
  failed: number;
  inProgress: number;
  queued: number;
  canceled: number;
  removed: number;
}

export interface RolloutState {
  index: number;
  done: boolean;
  touched: TouchedStage[];
  current?: StageProgress;
  completed: StageProgress[];
}
