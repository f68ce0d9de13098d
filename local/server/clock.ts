import type { Clock } from "./types.ts";

interface Sleeper {
  deadline: number;
  resolve: () => void;
}

/**
 * Clock time runs `1 / timeScale` times faster than the wall clock: with 0.02 a 30 s Wait takes
 * 0.6 s. `timeScale` 0 makes every sleep return on the next tick while advancing the clock by its
 * length, so tests run as fast as the CPU allows and timestamps still move forward.
 */
export class ScaledClock implements Clock {
  private readonly realOrigin = performance.now();
  private readonly origin: number;
  private offsetMs = 0;
  private sleepers: Sleeper[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly timeScale: number,
    start: Date = new Date(),
  ) {
    if (!(timeScale >= 0) || !Number.isFinite(timeScale))
      throw new RangeError(`timeScale must be >= 0, got ${timeScale}`);
    this.origin = start.getTime();
  }

  now(): Date {
    const real = performance.now() - this.realOrigin;
    const scaled = this.timeScale === 0 ? real : real / this.timeScale;
    return new Date(this.origin + scaled + this.offsetMs);
  }

  sleep(seconds: number): Promise<void> {
    if (!(seconds > 0)) return new Promise((resolve) => setImmediate(resolve));
    if (this.timeScale === 0) {
      this.offsetMs += seconds * 1000;
      return new Promise((resolve) => setImmediate(resolve));
    }
    return new Promise((resolve) => {
      this.sleepers.push({ deadline: this.now().getTime() + seconds * 1000, resolve });
      this.schedule();
    });
  }

  /** Jumps the clock forward (what `edge-mlops local tick --advance` does); due sleepers wake. */
  advance(seconds: number): void {
    this.offsetMs += Math.max(0, seconds) * 1000;
    this.schedule();
  }

  /** Wakes nobody again; pending sleeps stay pending (the endpoint is shutting down). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.sleepers = [];
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.now().getTime();
    const due = this.sleepers.filter((s) => s.deadline <= now);
    this.sleepers = this.sleepers.filter((s) => s.deadline > now);
    for (const s of due) s.resolve();
    if (this.sleepers.length === 0) return;
    const next = Math.min(...this.sleepers.map((s) => s.deadline));
    const realMs = Math.max(1, (next - now) * this.timeScale);
    this.timer = setTimeout(() => this.schedule(), realMs);
    // A pending Wait must not keep a finished CLI process alive.
    this.timer.unref();
  }
}
