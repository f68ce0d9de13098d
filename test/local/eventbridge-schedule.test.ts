import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../config/validate.ts";
import { eventRouterOf } from "../../local/eventbridge/index.ts";
import { configureFlow, localResources } from "../../local/wiring.ts";
import { startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";

let ep: TestEndpoint;

beforeAll(async () => {
  const { redeploySchedule: _none, ...config } = loadConfig();
  configureFlow({ autoSchedules: true, config: { ...config, driftSchedule: "rate(1 hour)" } });
  // One clock hour is 0.36 s of wall time.
  ep = await startTestEndpoint({ discover: true, timeScale: 0.0001 });
});

afterAll(() => ep?.dispose());

it("the drift schedule fires on the endpoint's clock, an hour of clock time apart, running aggregate-drift", async () => {
  const { scheduler } = eventRouterOf(ep.url);
  expect(scheduler.names()).toEqual([localResources.driftScheduleName]);
  const runs = await until(
    async () => scheduler.runs.filter((r) => r.trigger === "clock"),
    (r) => r.length >= 2,
  );
  const [a, b] = runs;
  expect(a).toMatchObject({ schedule: localResources.driftScheduleName, status: "SUCCEEDED" });
  expect(Date.parse(b?.scheduledTime ?? "") - Date.parse(a?.scheduledTime ?? "")).toBe(3_600_000);
  expect(a?.result).toMatchObject({ outcomes: [] });
});
