import { join } from "node:path";
import { JsonState } from "../server/state.ts";
import { AwsError, type LocalContext, validation } from "../server/types.ts";
import { CompilationFailedError } from "./compiler.ts";
import { requireString } from "./shapes.ts";

export const jobStatuses = ["STARTING", "INPROGRESS", "COMPLETED", "FAILED", "STOPPING", "STOPPED"] as const;
export type JobStatus = (typeof jobStatuses)[number];
export const terminalJobStatuses = new Set<JobStatus>(["COMPLETED", "FAILED", "STOPPED"]);

/** Clock seconds a job spends in each phase (Neo takes minutes; these keep the states observable). */
export interface JobTimings {
  startingSeconds: number;
  minimumRunSeconds: number;
}

/** What tells one kind of SageMaker job from another; the lifecycle is the same. */
export interface JobKind<R> {
  /** As SageMaker words it in messages: "Compilation job". */
  noun: string;
  /** The request member that names a job: "CompilationJobName". */
  nameMember: string;
  /** File in the endpoint's state dir. */
  stateFile: string;
  nameOf(job: R): string;
  statusOf(job: R): JobStatus;
  /** The change that sets the status. */
  status(status: JobStatus): Partial<R>;
  /** Times the kind records on reaching a status (compilation: start and end). */
  stamps(status: JobStatus, now: string): Partial<R>;
  /** The change that records why the job failed. */
  failure(reason: string): Partial<R>;
  /** When the run began, for its minimum duration. */
  began(job: R): number;
}

/**
 * SageMaker jobs on the endpoint's clock: STARTING → INPROGRESS → COMPLETED | FAILED
 * (| STOPPING → STOPPED), kept in a state file, resumed after a restart. Subclasses do the work.
 */
export abstract class SimulatedJobs<R extends object> {
  protected readonly state: JsonState<{ jobs: Record<string, R> }>;
  private readonly running = new Map<string, Promise<void>>();
  protected closed = false;

  constructor(
    protected readonly context: LocalContext,
    private readonly kind: JobKind<R>,
    private readonly timings: JobTimings,
  ) {
    this.state = new JsonState(join(context.stateDir, kind.stateFile), { jobs: {} });
  }

  /**
   * The job's outcome: its status and result fields. A `CompilationFailedError` or `AwsError`
   * fails the job with its message; anything else is an internal error.
   */
  protected abstract work(job: R): Promise<Partial<R>>;

  /** Resumes jobs a previous run left unfinished. */
  resume(): void {
    for (const job of Object.values(this.state.data.jobs))
      if (!terminalJobStatuses.has(this.kind.statusOf(job))) this.start(job);
  }

  get(name: string): R | undefined {
    return this.state.data.jobs[name];
  }

  /** Stores a new job and starts it; a name already taken is ResourceInUse. */
  protected insert(job: R): void {
    const name = this.kind.nameOf(job);
    if (this.state.data.jobs[name])
      throw new AwsError("ResourceInUse", `${this.kind.noun} ${name} already exists`, 400);
    this.state.data.jobs[name] = job;
    this.state.save();
    this.start(job);
  }

  protected find(input: Record<string, unknown>): R {
    const member = this.kind.nameMember;
    const name = requireString(input[member], member[0]?.toLowerCase() + member.slice(1));
    const job = this.state.data.jobs[name];
    if (!job)
      throw new AwsError(
        "ResourceNotFound",
        `Could not find ${this.kind.noun.toLowerCase()} with name ${name}`,
        400,
      );
    return job;
  }

  protected all(): R[] {
    return Object.values(this.state.data.jobs);
  }

  stop(input: Record<string, unknown>) {
    const job = this.find(input);
    const status = this.kind.statusOf(job);
    if (terminalJobStatuses.has(status))
      throw validation(`${this.kind.noun} ${this.kind.nameOf(job)} is ${status} and cannot be stopped`);
    this.transition(job, this.kind.status("STOPPING"));
    return {};
  }

  private now(): string {
    return this.context.clock.now().toISOString();
  }

  private transition(job: R, change: Partial<R>) {
    Object.assign(job, change, { LastModifiedTime: this.now() });
    this.state.save();
  }

  private start(job: R) {
    const name = this.kind.nameOf(job);
    const run = this.run(job)
      .catch((error) => {
        if (!this.closed)
          this.transition(job, {
            ...this.kind.status("FAILED"),
            ...this.kind.failure(`InternalError: ${(error as Error).message}`),
          });
      })
      .finally(() => this.running.delete(name));
    this.running.set(name, run);
  }

  private stopped(job: R): boolean {
    if (this.kind.statusOf(job) !== "STOPPING") return false;
    this.transition(job, { ...this.kind.status("STOPPED"), ...this.kind.stamps("STOPPED", this.now()) });
    return true;
  }

  private async run(job: R): Promise<void> {
    const { kind, context } = this;
    if (kind.statusOf(job) === "STARTING") {
      await context.clock.sleep(this.timings.startingSeconds);
      if (this.closed || this.stopped(job)) return;
      this.transition(job, { ...kind.status("INPROGRESS"), ...kind.stamps("INPROGRESS", this.now()) });
    }
    if (this.stopped(job)) return;
    const began = kind.began(job);
    let outcome: Partial<R>;
    try {
      outcome = await this.work(job);
    } catch (error) {
      if (!(error instanceof CompilationFailedError) && !(error instanceof AwsError)) throw error;
      outcome = { ...kind.status("FAILED"), ...kind.failure(error.message) };
    }
    const remaining = this.timings.minimumRunSeconds - (context.clock.now().getTime() - began) / 1000;
    if (remaining > 0) await context.clock.sleep(remaining);
    if (this.closed || this.stopped(job)) return;
    const final = kind.statusOf({ ...job, ...outcome });
    this.transition(job, { ...outcome, ...kind.stamps(final, this.now()) });
  }

  /** Waits for running jobs (tests; shutdown does not wait, jobs resume on restart). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  close(): void {
    this.closed = true;
    this.state.save();
  }

  flush(): void {
    this.state.save();
  }
}
