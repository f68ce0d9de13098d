import { describe, expect, it } from "vitest";
import { windowEndingAt, windowLabel } from "../../functions/drift/window.ts";

describe("windowLabel", () => {
  it("one date when the window starts and ends on the same day", () => {
    expect(windowLabel(windowEndingAt(new Date("2026-11-24T23:00:05Z"), 1))).toBe(
      "2026-11-24 22:00–23:00 UTC",
    );
    expect(windowLabel(windowEndingAt(new Date("2026-11-24T23:30:00Z"), 6))).toBe(
      "2026-11-24 17:00–23:00 UTC",
    );
  });

  it("both dates when the window spans days, so a 24 h window does not read as zero length", () => {
    expect(windowLabel(windowEndingAt(new Date("2026-11-25T01:00:00Z"), 24))).toBe(
      "2026-11-24 01:00 – 2026-11-25 01:00 UTC",
    );
    expect(windowLabel(windowEndingAt(new Date("2026-11-25T01:59:59Z"), 3))).toBe(
      "2026-11-24 22:00 – 2026-11-25 01:00 UTC",
    );
  });

  it("an hour ending at midnight names the next day rather than printing 23:00–00:00", () => {
    expect(windowLabel(windowEndingAt(new Date("2026-11-25T00:00:00Z"), 1))).toBe(
      "2026-11-24 23:00 – 2026-11-25 00:00 UTC",
    );
    // Month and year boundaries come from the UTC date, not the local one.
    expect(windowLabel(windowEndingAt(new Date("2027-01-01T00:10:00Z"), 2))).toBe(
      "2026-12-31 22:00 – 2027-01-01 00:00 UTC",
    );
  });
});
