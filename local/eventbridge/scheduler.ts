/**
 * EventBridge Scheduler, locally: schedules fire on the endpoint's clock (so a daily cron runs in
 * seconds when the clock is fast) and on demand with `tick()` (`edge-mlops local tick`).
 * The target gets the schedule's `Input` with Scheduler's context attributes filled in.
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "../server/types.ts";
import { nextFireTime, type ParsedSchedule, parseScheduleExpression } from "./schedule-expression.ts";

export interface ScheduleDefinition {
  name: string;
  /** rate(...), cron(...) or at(...). */
  expression: string;
  /** Input JSON text; `<aws.scheduler.*>` placeholders are filled at each run. */
  input: string;
  target: (input: unknown) => Promise<unknown>;
}

export interface ScheduleRun {
  schedule: string;
  executionId: string;
  scheduledTime: string;
  trigger: "clock" | "tick";
  status: "SUCCEEDED" | "FAILED";
  result?: unknown;
  error?: string;
}

interface Entry extends ScheduleDefinition {
  parsed: ParsedSchedule;
  arn: string;
  createdAt: Date;
}

export class Scheduler {
  private readonly schedules = new Map<string, Entry>();
  private running = false;
  readonly runs: ScheduleRun[] = [];

  constructor(
    private readonly opts: { clock: Clock; region: string; accountId: string; minWallIntervalMs?: number },
  ) {}

  add(def: ScheduleDefinition): void {
    const parsed = parseScheduleExpression(def.expression);
    const arn = `arn:aws:scheduler:${this.opts.region}:${this.opts.accountId}:schedule/default/${def.name}`;
    const entry = { ...def, parsed, arn, createdAt: this.opts.clock.now() };
    this.schedules.set(def.name, entry);
    if (this.running) void this.loop(entry);
  }

  names(): string[] {
    return [...this.schedules.keys()];
  }

  /** Starts firing every schedule on the clock. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const entry of this.schedules.values()) void this.loop(entry);
  }

  private async loop(entry: Entry): Promise<void> {
    let after = this.opts.clock.now();
    while (this.running && this.schedules.get(entry.name) === entry) {
      const next = nextFireTime(entry.parsed, after, entry.createdAt);
      if (!next) return;
      await this.opts.clock.sleep((next.getTime() - this.opts.clock.now().getTime()) / 1000);
      if (!this.running || this.schedules.get(entry.name) !== entry) return;
      await this.fire(entry, next, "clock");
      after = next;
      // However fast the clock runs, a schedule fires at most once per wall second: no hot loop on an instant clock.
      await new Promise((resolve) => setTimeout(resolve, this.opts.minWallIntervalMs ?? 1000).unref());
    }
  }

  /**
   * Fires schedules now: one by name, or every one. Resolves with what each target returned.
   * @example await scheduler.tick("edge-mlops-redeploy")
   */
  async tick(name?: string): Promise<ScheduleRun[]> {
    const entries = name === undefined ? [...this.schedules.values()] : [this.schedules.get(name)];
    if (entries.some((e) => e === undefined))
      throw new Error(`no schedule named ${name}; schedules: ${this.names().join(", ") || "none"}`);
    const runs: ScheduleRun[] = [];
    for (const entry of entries as Entry[]) runs.push(await this.fire(entry, this.opts.clock.now(), "tick"));
    return runs;
  }

  private async fire(
    entry: Entry,
    scheduledTime: Date,
    trigger: ScheduleRun["trigger"],
  ): Promise<ScheduleRun> {
    const executionId = randomUUID();
    const time = `${scheduledTime.toISOString().slice(0, 19)}Z`;
    const filled = entry.input
      .replaceAll("<aws.scheduler.scheduled-time>", time)
      .replaceAll("<aws.scheduler.schedule-arn>", entry.arn)
      .replaceAll("<aws.scheduler.execution-id>", executionId)
      .replaceAll("<aws.scheduler.attempt-number>", "1");
    const run: ScheduleRun = {
      schedule: entry.name,
      executionId,
      scheduledTime: time,
      trigger,
      status: "SUCCEEDED",
    };
    try {
      run.result = await entry.target(JSON.parse(filled));
    } catch (err) {
      // A failing target is recorded and the schedule keeps running, as Scheduler does after its retries.
      run.status = "FAILED";
      run.error = `${(err as Error).name}: ${(err as Error).message}`;
    }
    this.runs.push(run);
    return run;
  }

  close(): void {
    this.running = false;
  }
}
