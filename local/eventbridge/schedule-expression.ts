/**
 * EventBridge Scheduler expressions: `rate(N unit)`, `cron(min hour day-of-month month day-of-week year)`
 * (UTC, `?` in one of the day fields) and `at(yyyy-mm-ddThh:mm:ss)`.
 */

export class ScheduleExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleExpressionError";
  }
}

const UNIT_SECONDS: Record<string, number> = {
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86400,
  days: 86400,
};
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  dom: Set<number> | undefined;
  months: Set<number>;
  dow: Set<number> | undefined;
  years: Set<number> | undefined;
}

function field(
  text: string,
  min: number,
  max: number,
  names: string[] = [],
  offset = 0,
): Set<number> | undefined {
  if (text === "?") return undefined;
  const out = new Set<number>();
  const num = (s: string) => {
    const i = names.indexOf(s.toUpperCase());
    const n = i >= 0 ? i + offset : Number(s);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new ScheduleExpressionError(`cron field value ${s} is outside ${min}-${max}`);
    return n;
  };
  for (const part of text.split(",")) {
    const [range = "", stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new ScheduleExpressionError(`cron step ${stepText} is not a positive integer`);
    let lo: number;
    let hi: number;
    if (range === "*") [lo, hi] = [min, max];
    else if (range.includes("-")) {
      const [a = "", b = ""] = range.split("-");
      [lo, hi] = [num(a), num(b)];
    } else {
      lo = num(range);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function parseCron(body: string): CronFields {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6)
    throw new ScheduleExpressionError(
      `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`,
    );
  const [mi = "", h = "", dom = "", mo = "", dow = "", y = ""] = parts;
  if (/[LW#]/.test(dom + dow))
    throw new ScheduleExpressionError("cron L, W and # are not supported by the local scheduler");
  if ((dom === "?") === (dow === "?"))
    throw new ScheduleExpressionError("cron needs ? in exactly one of day-of-month and day-of-week");
  return {
    minutes: field(mi, 0, 59) as Set<number>,
    hours: field(h, 0, 23) as Set<number>,
    dom: field(dom, 1, 31),
    months: field(mo, 1, 12, MONTHS, 1) as Set<number>,
    // AWS numbers days 1 (SUN) to 7 (SAT); stored here as JS getUTCDay() 0-6.
    dow: dow === "?" ? undefined : new Set([...(field(dow, 1, 7, DAYS, 1) ?? [])].map((d) => d - 1)),
    years: y === "*" ? undefined : field(y, 1970, 2199),
  };
}

export type ParsedSchedule =
  | { kind: "rate"; seconds: number }
  | { kind: "cron"; fields: CronFields }
  | { kind: "at"; time: Date };

export function parseScheduleExpression(expression: string): ParsedSchedule {
  const m = /^(rate|cron|at)\((.*)\)$/.exec(expression.trim());
  if (!m) throw new ScheduleExpressionError(`${expression} is not rate(...), cron(...) or at(...)`);
  const [, kind, body = ""] = m;
  if (kind === "rate") {
    const r = /^(\d+)\s+(minutes?|hours?|days?)$/.exec(body.trim());
    if (!r || Number(r[1]) < 1)
      throw new ScheduleExpressionError(`rate(${body}) must be "N minute(s)|hour(s)|day(s)" with N ≥ 1`);
    return { kind: "rate", seconds: Number(r[1]) * (UNIT_SECONDS[r[2] as string] as number) };
  }
  if (kind === "at") {
    const time = new Date(`${body.trim()}Z`);
    if (Number.isNaN(time.getTime()))
      throw new ScheduleExpressionError(`at(${body}) is not yyyy-mm-ddThh:mm:ss`);
    return { kind: "at", time };
  }
  return { kind: "cron", fields: parseCron(body) };
}

/**
 * The first fire time strictly after `after`, or undefined when the schedule has no more runs.
 * `rate` counts from `start` (when the schedule was created), as Scheduler does.
 */
export function nextFireTime(schedule: ParsedSchedule, after: Date, start: Date = after): Date | undefined {
  if (schedule.kind === "at") return schedule.time > after ? schedule.time : undefined;
  if (schedule.kind === "rate") {
    const period = schedule.seconds * 1000;
    const n = Math.floor((after.getTime() - start.getTime()) / period) + 1;
    return new Date(start.getTime() + Math.max(1, n) * period);
  }
  const f = schedule.fields;
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  // Five years of days bounds the search; a day that cannot match is skipped whole.
  const limit = after.getTime() + 5 * 366 * 86400_000;
  while (t.getTime() < limit) {
    const dayOk =
      (f.years === undefined || f.years.has(t.getUTCFullYear())) &&
      f.months.has(t.getUTCMonth() + 1) &&
      (f.dom === undefined || f.dom.has(t.getUTCDate())) &&
      (f.dow === undefined || f.dow.has(t.getUTCDay()));
    if (!dayOk) {
      t.setUTCHours(0, 0, 0, 0);
      t.setUTCDate(t.getUTCDate() + 1);
      continue;
    }
    if (f.hours.has(t.getUTCHours()) && f.minutes.has(t.getUTCMinutes())) return new Date(t.getTime());
    t.setUTCMinutes(t.getUTCMinutes() + 1);
  }
  return undefined;
}
