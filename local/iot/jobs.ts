import { join } from "node:path";
import { JsonState } from "../server/state.ts";
import type {
  CreateIotJobInput,
  IotJobEvent,
  IotJobsApi,
  JobExecutionStatus,
  LocalContext,
} from "../server/types.ts";
import { iotBadTransition, iotExists, iotInvalid, iotNotFound } from "./errors.ts";
import type { ThingRegistry } from "./things.ts";

type JobStatus = "IN_PROGRESS" | "CANCELED" | "COMPLETED";

export interface ExecutionRecord {
  status: JobExecutionStatus;
  queuedAt: string;
  startedAt?: string;
  lastUpdatedAt: string;
  executionNumber: number;
  versionNumber: number;
  statusDetails?: Record<string, string>;
}

export interface JobRecord {
  jobId: string;
  jobArn: string;
  targets: string[];
  targetSelection: "SNAPSHOT" | "CONTINUOUS";
  status: JobStatus;
  forceCanceled?: boolean;
  reasonCode?: string;
  comment?: string;
  description?: string;
  document: string;
  createdAt: string;
  lastUpdatedAt: string;
  completedAt?: string;
  jobExecutionsRolloutConfig?: CreateIotJobInput["jobExecutionsRolloutConfig"];
  abortConfig?: CreateIotJobInput["abortConfig"];
  timeoutConfig?: CreateIotJobInput["timeoutConfig"];
  executions: Record<string, ExecutionRecord>;
  /** Targets not notified yet under `maximumPerMinute`; they get an execution as the rollout reaches them. */
  pendingThings?: string[];
}

const terminal = new Set<JobExecutionStatus>([
  "SUCCEEDED",
  "FAILED",
  "TIMED_OUT",
  "REJECTED",
  "REMOVED",
  "CANCELED",
]);
const jobIdPattern = /^[a-zA-Z0-9_-]{1,64}$/;
const epochSeconds = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso) / 1000);

/**
 * IoT jobs as Greengrass deployments use them: one execution per target thing, counted in
 * `jobProcessDetails`, moved by devices through `updateExecution`. Timeouts are applied lazily on
 * read against the endpoint's clock; abort criteria after each update.
 */
export class IotJobs implements IotJobsApi {
  private readonly state: JsonState<{ jobs: Record<string, JobRecord>; executionCounter: number }>;
  private readonly listeners = new Set<(event: IotJobEvent) => void>();
  private closed = false;

  constructor(
    private readonly context: LocalContext,
    private readonly things: ThingRegistry,
  ) {
    this.state = new JsonState(join(context.stateDir, "jobs.json"), { jobs: {}, executionCounter: 0 });
    things.onMembership((group, thing) => this.thingJoined(group, thing));
    for (const job of Object.values(this.state.data.jobs)) {
      if (job.status === "IN_PROGRESS" && job.pendingThings?.length) void this.rollout(job);
    }
  }

  /**
   * `maximumPerMinute`: the first batch is notified at once, then one batch a minute of clock time,
   * as IoT rolls a job out.
   */
  private async rollout(job: JobRecord): Promise<void> {
    const rate = job.jobExecutionsRolloutConfig?.maximumPerMinute ?? Number.POSITIVE_INFINITY;
    while (!this.closed && job.status === "IN_PROGRESS" && job.pendingThings?.length) {
      await this.context.clock.sleep(60);
      if (this.closed || job.status !== "IN_PROGRESS") return;
      const batch = job.pendingThings.splice(0, rate);
      for (const thing of batch) this.queue(job, thing);
      job.lastUpdatedAt = this.now();
      this.state.save();
      for (const thing of batch)
        this.notify({ type: "execution-queued", jobId: job.jobId, thingName: thing, status: "QUEUED" });
    }
  }

  private now() {
    return this.context.clock.now().toISOString();
  }

  private notify(event: IotJobEvent) {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One failing subscriber (a simulated device) must not stop the others from hearing.
      }
    }
  }

  subscribe(listener: (event: IotJobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Thing names a target ARN stands for now (groups recursively). */
  private resolve(target: string): string[] {
    if (/:thinggroup\//.test(target)) return this.things.members(target, true);
    if (/:thing\//.test(target)) return [this.things.thing(target).thingName];
    throw iotInvalid(`target ${target} is neither a thing nor a thing group ARN`);
  }

  private queue(job: JobRecord, thingName: string) {
    if (job.executions[thingName]) return;
    const now = this.now();
    this.state.data.executionCounter += 1;
    job.executions[thingName] = {
      status: "QUEUED",
      queuedAt: now,
      lastUpdatedAt: now,
      executionNumber: this.state.data.executionCounter,
      versionNumber: 1,
    };
  }

  async createJob(input: CreateIotJobInput) {
    if (!jobIdPattern.test(input.jobId))
      throw iotInvalid(`jobId "${input.jobId}" must match [a-zA-Z0-9_-]{1,64}`);
    if (this.state.data.jobs[input.jobId]) throw iotExists(`Job ${input.jobId} already exists`);
    if (!Array.isArray(input.targets) || input.targets.length === 0)
      throw iotInvalid("a job needs at least one target");
    const things = new Set(input.targets.flatMap((t) => this.resolve(t)));
    const now = this.now();
    const job: JobRecord = {
      jobId: input.jobId,
      jobArn: `arn:aws:iot:${this.context.region}:${this.context.accountId}:job/${input.jobId}`,
      targets: [...input.targets],
      targetSelection: input.targetSelection ?? "SNAPSHOT",
      status: "IN_PROGRESS",
      document: typeof input.document === "string" ? input.document : JSON.stringify(input.document ?? {}),
      createdAt: now,
      lastUpdatedAt: now,
      executions: {},
      ...(input.description ? { description: input.description } : {}),
      ...(input.jobExecutionsRolloutConfig
        ? { jobExecutionsRolloutConfig: input.jobExecutionsRolloutConfig }
        : {}),
      ...(input.abortConfig ? { abortConfig: input.abortConfig } : {}),
      ...(input.timeoutConfig ? { timeoutConfig: input.timeoutConfig } : {}),
    };
    const rate = input.jobExecutionsRolloutConfig?.maximumPerMinute;
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 1000))
      throw iotInvalid("jobExecutionsRolloutConfig.maximumPerMinute must be an integer 1–1000");
    const ordered = [...things].sort();
    const first = rate === undefined ? ordered : ordered.slice(0, rate);
    for (const thing of first) this.queue(job, thing);
    if (ordered.length > first.length) job.pendingThings = ordered.slice(first.length);
    this.state.data.jobs[job.jobId] = job;
    this.finishIfDone(job);
    this.state.save();
    for (const thing of first)
      this.notify({ type: "execution-queued", jobId: job.jobId, thingName: thing, status: "QUEUED" });
    if (job.pendingThings) void this.rollout(job);
    return { jobId: job.jobId, jobArn: job.jobArn };
  }

  private thingJoined(group: string, thing: string) {
    for (const job of Object.values(this.state.data.jobs)) {
      if (job.status !== "IN_PROGRESS" || job.targetSelection !== "CONTINUOUS" || job.executions[thing])
        continue;
      const covers = job.targets.some((t) => {
        if (!/:thinggroup\//.test(t)) return false;
        const name = t.slice(t.lastIndexOf("/") + 1);
        if (name === group) return true;
        try {
          return this.things.ancestors(this.things.group(group)).some((g) => g.thingGroupName === name);
        } catch {
          return false;
        }
      });
      if (!covers || job.pendingThings?.includes(thing)) continue;
      if (job.pendingThings?.length) {
        job.pendingThings.push(thing);
        this.state.save();
        continue;
      }
      this.queue(job, thing);
      job.lastUpdatedAt = this.now();
      this.state.save();
      this.notify({ type: "execution-queued", jobId: job.jobId, thingName: thing, status: "QUEUED" });
    }
  }

  job(jobId: string): JobRecord {
    const job = this.state.data.jobs[jobId];
    if (!job) throw iotNotFound(`Job ${jobId} cannot be found.`);
    this.sweepTimeouts(job);
    return job;
  }

  jobs(): JobRecord[] {
    const all = Object.values(this.state.data.jobs);
    for (const job of all) this.sweepTimeouts(job);
    return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  private sweepTimeouts(job: JobRecord) {
    const minutes = job.timeoutConfig?.inProgressTimeoutInMinutes;
    if (!minutes) return;
    const now = this.context.clock.now().getTime();
    let changed = false;
    for (const [thing, e] of Object.entries(job.executions)) {
      if (e.status === "IN_PROGRESS" && e.startedAt && now - Date.parse(e.startedAt) > minutes * 60_000) {
        Object.assign(e, {
          status: "TIMED_OUT",
          lastUpdatedAt: this.now(),
          versionNumber: e.versionNumber + 1,
        });
        changed = true;
        this.notify({ type: "execution-updated", jobId: job.jobId, thingName: thing, status: "TIMED_OUT" });
      }
    }
    if (!changed) return;
    this.applyAbort(job);
    this.finishIfDone(job);
    this.state.save();
  }

  async updateExecution(
    jobId: string,
    thingName: string,
    status: JobExecutionStatus,
    statusDetails?: Record<string, string>,
  ) {
    const job = this.job(jobId);
    const execution = job.executions[thingName];
    if (!execution) throw iotNotFound(`No job execution of ${jobId} for thing ${thingName}`);
    if (terminal.has(execution.status)) {
      if (execution.status === status) return; // a retried report of the same outcome
      throw iotBadTransition(
        `Job execution ${jobId} on ${thingName} is ${execution.status} and cannot move to ${status}`,
      );
    }
    if (status === "QUEUED") throw iotBadTransition("a job execution cannot go back to QUEUED");
    const now = this.now();
    if (status === "IN_PROGRESS" && !execution.startedAt) execution.startedAt = now;
    execution.status = status;
    execution.lastUpdatedAt = now;
    execution.versionNumber += 1;
    if (statusDetails) execution.statusDetails = { ...execution.statusDetails, ...statusDetails };
    job.lastUpdatedAt = now;
    this.applyAbort(job);
    this.finishIfDone(job);
    this.state.save();
    this.notify({ type: "execution-updated", jobId, thingName, status });
  }

  private applyAbort(job: JobRecord) {
    if (job.status !== "IN_PROGRESS" || !job.abortConfig) return;
    const executions = Object.values(job.executions);
    const executed = executions.filter((e) => terminal.has(e.status)).length;
    for (const c of job.abortConfig.criteriaList) {
      const failed = executions.filter((e) =>
        c.failureType === "ALL"
          ? ["FAILED", "REJECTED", "TIMED_OUT"].includes(e.status)
          : e.status === c.failureType,
      ).length;
      if (
        executed >= c.minNumberOfExecutedThings &&
        executed > 0 &&
        (failed / executed) * 100 >= c.thresholdPercentage
      ) {
        this.cancelInPlace(job, {
          reasonCode: "AUTO_ABORT",
          comment: `aborted: ${c.failureType} reached ${c.thresholdPercentage}%`,
          force: false,
        });
        return;
      }
    }
  }

  private finishIfDone(job: JobRecord) {
    if (job.status !== "IN_PROGRESS" || job.targetSelection === "CONTINUOUS" || job.pendingThings?.length)
      return;
    if (Object.values(job.executions).every((e) => terminal.has(e.status))) {
      job.status = "COMPLETED";
      job.completedAt = this.now();
      this.notify({ type: "job-completed", jobId: job.jobId });
    }
  }

  private cancelInPlace(job: JobRecord, options: { reasonCode?: string; comment?: string; force?: boolean }) {
    const now = this.now();
    job.status = "CANCELED";
    job.forceCanceled = Boolean(options.force);
    if (options.reasonCode) job.reasonCode = options.reasonCode;
    if (options.comment) job.comment = options.comment;
    job.lastUpdatedAt = now;
    job.completedAt = now;
    // Targets the rollout had not reached never get an execution.
    delete job.pendingThings;
    for (const [thing, e] of Object.entries(job.executions)) {
      if (e.status === "QUEUED" || (options.force && e.status === "IN_PROGRESS")) {
        Object.assign(e, { status: "CANCELED", lastUpdatedAt: now, versionNumber: e.versionNumber + 1 });
        this.notify({ type: "execution-updated", jobId: job.jobId, thingName: thing, status: "CANCELED" });
      }
    }
    this.notify({ type: "job-canceled", jobId: job.jobId });
  }

  async cancelJob(jobId: string, options: { reasonCode?: string; comment?: string; force?: boolean } = {}) {
    const job = this.job(jobId);
    if (job.status === "COMPLETED")
      throw iotBadTransition(`Job ${jobId} is COMPLETED and cannot be canceled`);
    if (job.status === "CANCELED" && !options.force) return;
    this.cancelInPlace(job, options);
    this.state.save();
  }

  /** DescribeJob's `job` member. */
  async describe(jobId: string) {
    const job = this.state.data.jobs[jobId];
    if (!job) return undefined;
    return this.toApi(this.job(jobId));
  }

  toApi(job: JobRecord) {
    const count = (s: JobExecutionStatus) =>
      Object.values(job.executions).filter((e) => e.status === s).length;
    return {
      jobArn: job.jobArn,
      jobId: job.jobId,
      targetSelection: job.targetSelection,
      status: job.status,
      forceCanceled: job.forceCanceled,
      reasonCode: job.reasonCode,
      comment: job.comment,
      targets: job.targets,
      description: job.description,
      jobExecutionsRolloutConfig: job.jobExecutionsRolloutConfig,
      abortConfig: job.abortConfig,
      timeoutConfig: job.timeoutConfig,
      createdAt: epochSeconds(job.createdAt),
      lastUpdatedAt: epochSeconds(job.lastUpdatedAt),
      completedAt: epochSeconds(job.completedAt),
      isConcurrent: false,
      jobProcessDetails: {
        processingTargets: job.status === "IN_PROGRESS" ? job.targets : [],
        numberOfCanceledThings: count("CANCELED"),
        numberOfSucceededThings: count("SUCCEEDED"),
        numberOfFailedThings: count("FAILED"),
        numberOfRejectedThings: count("REJECTED"),
        numberOfQueuedThings: count("QUEUED"),
        numberOfInProgressThings: count("IN_PROGRESS"),
        numberOfRemovedThings: count("REMOVED"),
        numberOfTimedOutThings: count("TIMED_OUT"),
      },
    };
  }

  executionSummary(e: ExecutionRecord) {
    return {
      status: e.status,
      queuedAt: epochSeconds(e.queuedAt),
      startedAt: epochSeconds(e.startedAt),
      lastUpdatedAt: epochSeconds(e.lastUpdatedAt),
      executionNumber: e.executionNumber,
      retryAttempt: 0,
    };
  }

  async pendingFor(thingName: string) {
    return this.jobs()
      .filter((j) => {
        const e = j.executions[thingName];
        return e && (e.status === "QUEUED" || e.status === "IN_PROGRESS");
      })
      .map((j) => ({
        jobId: j.jobId,
        status: (j.executions[thingName] as ExecutionRecord).status,
        document: j.document,
      }));
  }

  async thingsInGroup(group: string): Promise<string[]> {
    try {
      return this.things.members(group, true);
    } catch {
      return [];
    }
  }

  flush(): void {
    this.state.save();
  }

  close(): void {
    this.closed = true;
    this.state.save();
  }
}
