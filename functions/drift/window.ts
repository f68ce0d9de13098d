/** An aggregation window: whole UTC hours [start, start + hours). */
export interface DriftWindow {
  start: Date;
  end: Date;
  hours: number;
  /** Path segment for results: "YYYY/MM/DD/HH" for one hour, "YYYY/MM/DD/HH-<n>h" otherwise. */
  id: string;
  /** The capture hour folders ("YYYY/MM/DD/HH") the window covers. */
  hourPaths: string[];
}

const pad = (n: number) => String(n).padStart(2, "0");
export const hourPath = (d: Date) =>
  `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}`;

/**
 * The `hours` whole hours before `time` (floored to the hour): a schedule firing at 03:00:12 covers
 * 02:00–03:00 for one hour, so each hour is aggregated once its files are in.
 * @example windowEndingAt(new Date("2026-11-25T03:00:12Z"), 1).id // "2026/11/25/02"
 */
export function windowEndingAt(time: Date, hours: number): DriftWindow {
  const h = Math.max(1, Math.floor(hours));
  const end = new Date(Math.floor(time.getTime() / 3_600_000) * 3_600_000);
  const start = new Date(end.getTime() - h * 3_600_000);
  const hourPaths = Array.from({ length: h }, (_, i) => hourPath(new Date(start.getTime() + i * 3_600_000)));
  return { start, end, hours: h, id: h === 1 ? hourPath(start) : `${hourPath(start)}-${h}h`, hourPaths };
}

/**
 * The window in words, with the end's date only when it differs from the start's.
 * @example windowLabel(windowEndingAt(new Date("2026-11-24T23:00:00Z"), 1)) // "2026-11-24 22:00–23:00 UTC"
 * @example windowLabel(windowEndingAt(new Date("2026-11-25T01:00:00Z"), 24))
 *          // "2026-11-24 01:00 – 2026-11-25 01:00 UTC"
 */
export function windowLabel(w: Pick<DriftWindow, "start" | "end">): string {
  const [startDate, startTime] = w.start.toISOString().slice(0, 16).split("T") as [string, string];
  const [endDate, endTime] = w.end.toISOString().slice(0, 16).split("T") as [string, string];
  return startDate === endDate
    ? `${startDate} ${startTime}–${endTime} UTC`
    : `${startDate} ${startTime} – ${endDate} ${endTime} UTC`;
}
