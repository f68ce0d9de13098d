import { sampleFeatures } from "../../examples/distribution.ts";
import { createRng } from "../../examples/prng.ts";
import { activeDrift } from "./drift.ts";
import type { FeatureDrift } from "./types.ts";

/** One device as the traffic generator sees it. */
export interface TrafficTarget {
  thingName: string;
  /** Drift knobs of the device, read at each request so they can change while traffic runs. */
  drift(): readonly FeatureDrift[] | undefined;
  /** Version of the model the device serves now (drift windows can open at a version). */
  modelVersion(): string | undefined;
  /** Sends one prediction request to the device's inference component. */
  predict(features: Float32Array): Promise<unknown>;
}

export interface TrafficOptions {
  /** Requests per device; the generator stops after this many or at `durationMs`, whichever comes first. */
  requestsPerDevice: number;
  /** Requests per second per device; 0 sends back to back. */
  ratePerSecond?: number;
  durationMs?: number;
  /** Base seed; device i draws from seed + i so runs are repeatable. */
  seed?: number;
}

export interface TrafficStats {
  sent: number;
  failed: number;
  perDevice: Record<string, { sent: number; failed: number; lastError?: string }>;
}

/**
 * Sends requests from the example's seeded feature distribution to every device, with each
 * device's drift knobs applied. A failed request is counted and traffic goes on.
 * @example const stats = await runTraffic(devices, { requestsPerDevice: 200, ratePerSecond: 50 });
 */
export async function runTraffic(
  targets: readonly TrafficTarget[],
  options: TrafficOptions,
): Promise<TrafficStats> {
  const stats: TrafficStats = { sent: 0, failed: 0, perDevice: {} };
  const deadline =
    options.durationMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.durationMs;
  const gapMs = options.ratePerSecond ? 1000 / options.ratePerSecond : 0;
  await Promise.all(
    targets.map(async (target, i) => {
      const rng = createRng((options.seed ?? 1) + i);
      const own = { sent: 0, failed: 0 } as TrafficStats["perDevice"][string];
      stats.perDevice[target.thingName] = own;
      const start = Date.now();
      for (let n = 0; n < options.requestsPerDevice && Date.now() < deadline; n++) {
        const features = sampleFeatures(rng, activeDrift(target.drift(), Date.now(), target.modelVersion()));
        try {
          await target.predict(features);
          own.sent++;
          stats.sent++;
        } catch (error) {
          own.failed++;
          stats.failed++;
          own.lastError = (error as Error).message;
        }
        if (gapMs > 0) {
          const wait = start + (n + 1) * gapMs - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      }
    }),
  );
  return stats;
}
