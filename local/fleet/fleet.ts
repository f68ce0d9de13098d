import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { type ComponentHost, SimulatedDevice } from "./device.ts";
import type { DeviceKnobs, NucleusCloud } from "./types.ts";

export interface FleetGroup {
  /** Thing group name, e.g. "canary". */
  name: string;
  size: number;
}

export interface FleetOptions {
  cloud: NucleusCloud;
  /** Each device's S3 client, with credentials from the token exchange service. */
  s3For(thingName: string): S3Client;
  /** Each device's component host (the real inference component). */
  hostFor(thingName: string): ComponentHost;
  /** Folder under which each device gets its Greengrass root. */
  rootDir: string;
  /** Default: 2 canary + 8 fleet. Devices are numbered across groups in this order. */
  groups?: FleetGroup[];
  /** Thing name prefix; devices are `<prefix>001`, `<prefix>002`, … */
  thingNamePrefix?: string;
  knobs?: Record<string, DeviceKnobs>;
  /** How often each device checks for deployments while the fleet runs. */
  pollIntervalMs?: number;
  log?: (line: string) => void;
}

export const defaultFleetGroups: FleetGroup[] = [
  { name: "canary", size: 2 },
  { name: "fleet", size: 8 },
];

/** Bad fleet options (sizes, names); the demo turns this into a usage message. */
export class FleetConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FleetConfigError";
  }
}

/**
 * A set of simulated Greengrass core devices. `start()` registers them and polls for deployments
 * in the background; `settle()` waits until no device has work left.
 * @example const fleet = createFleet({ cloud, s3For, hostFor, rootDir }); await fleet.start();
 */
export class SimulatedFleet {
  readonly devices: SimulatedDevice[];
  private timer: NodeJS.Timeout | undefined;
  private errors = 0;
  private lastError: string | undefined;

  constructor(private readonly options: FleetOptions) {
    const groups = options.groups ?? defaultFleetGroups;
    for (const g of groups) {
      if (!Number.isInteger(g.size) || g.size < 0)
        throw new FleetConfigError(`group ${g.name}: size must be a whole number ≥ 0, got ${g.size}`);
    }
    const total = groups.reduce((n, g) => n + g.size, 0);
    if (total === 0) throw new FleetConfigError("the fleet needs at least one device");
    const width = Math.max(3, String(total).length);
    const prefix = options.thingNamePrefix ?? "edge-device-";
    this.devices = [];
    let n = 0;
    for (const group of groups) {
      for (let i = 0; i < group.size; i++) {
        n++;
        const thingName = `${prefix}${String(n).padStart(width, "0")}`;
        this.devices.push(
          new SimulatedDevice({
            thingName,
            thingGroupNames: [group.name],
            cloud: options.cloud,
            s3: options.s3For(thingName),
            rootPath: join(options.rootDir, thingName),
            host: options.hostFor(thingName),
            knobs: options.knobs?.[thingName] ?? {},
            ...(options.log ? { log: options.log } : {}),
          }),
        );
      }
    }
  }

  device(thingName: string): SimulatedDevice {
    const found = this.devices.find((d) => d.thingName === thingName);
    if (!found) throw new FleetConfigError(`no device ${thingName} in the fleet`);
    return found;
  }

  inGroup(group: string): SimulatedDevice[] {
    return this.devices.filter((d) => d.thingGroupNames.includes(group));
  }

  async start(): Promise<void> {
    for (const device of this.devices) {
      await mkdir(join(this.options.rootDir, device.thingName), { recursive: true });
      await device.register();
    }
    const interval = this.options.pollIntervalMs ?? 250;
    const tick = () => {
      void this.pollOnce().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, interval);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** One nucleus cycle on every device; a device whose cycle throws is counted, the rest go on. */
  async pollOnce(): Promise<void> {
    const results = await Promise.allSettled(this.devices.map((d) => d.poll()));
    for (const r of results) {
      if (r.status === "rejected") {
        this.errors++;
        this.lastError = (r.reason as Error)?.message ?? String(r.reason);
        this.options.log?.(`fleet: poll failed: ${this.lastError}`);
      }
    }
  }

  /** Poll errors so far (a device that cannot reach the endpoint keeps trying, as a nucleus does). */
  pollErrors(): { count: number; last?: string } {
    return this.lastError ? { count: this.errors, last: this.lastError } : { count: this.errors };
  }

  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    if (timer) clearTimeout(timer);
    await Promise.allSettled(this.devices.map((d) => d.stop()));
  }
}
