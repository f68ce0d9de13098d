import { join } from "node:path";
import { CLASSIFIER_INPUT } from "../../examples/classifier.ts";
import { deviceCredentialsOf } from "../credentials/attach.ts";
import type { LocalEndpoint } from "../endpoint.ts";
import { greengrassStoreOf } from "../greengrass/index.ts";
import { storeCloud, type ThingRegistry } from "./cloud.ts";
import { deviceS3Client } from "./credentials.ts";
import type { SimulatedDevice } from "./device.ts";
import { type FleetGroup, SimulatedFleet } from "./fleet.ts";
import { InferenceHost } from "./host.ts";
import { runTraffic, type TrafficOptions, type TrafficStats, type TrafficTarget } from "./traffic.ts";
import type { DeviceKnobs } from "./types.ts";

export { defaultFleetGroups, FleetConfigError, type FleetGroup, SimulatedFleet } from "./fleet.ts";
export type { ServedModel } from "./host.ts";
export type { DeviceKnobs, FeatureDrift } from "./types.ts";

export interface LocalFleetOptions {
  groups?: FleetGroup[];
  knobs?: Record<string, DeviceKnobs>;
  /** Folder for the devices' Greengrass roots; default `<endpoint state dir>/fleet`. */
  rootDir?: string;
  pollIntervalMs?: number;
  log?: (line: string) => void;
}

/** A fleet on a local endpoint, with each device's inference host at hand. */
export interface LocalFleet {
  fleet: SimulatedFleet;
  devices: SimulatedDevice[];
  host(thingName: string): InferenceHost;
  /** Sends predictions from the example distribution to every device that serves a model. */
  traffic(options: TrafficOptions, thingNames?: string[]): Promise<TrafficStats>;
  /** Waits until every device's capture has been written to S3. */
  captureSettled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The IoT registry of the endpoint, as provisioning would fill it (CreateThing, CreateThingGroup, AddThingToThingGroup). */
export function endpointThings(endpoint: LocalEndpoint): ThingRegistry {
  return {
    async registerThing(thingName, groups) {
      const registry = endpoint.iot.things;
      registry.createThing(thingName, {});
      for (const group of groups) {
        registry.createGroup(group, {});
        registry.addThing(group, thingName);
      }
    },
  };
}

/**
 * Starts simulated core devices against a running local endpoint: things and groups in its IoT
 * registry, core devices in its Greengrass store, S3 through the token exchange, the real
 * inference component per device.
 * @example const local = await startLocalFleet(endpoint, { groups: [{ name: "canary", size: 2 }, { name: "fleet", size: 8 }] });
 */
export async function startLocalFleet(
  endpoint: LocalEndpoint,
  options: LocalFleetOptions = {},
): Promise<LocalFleet> {
  const rootDir = options.rootDir ?? join(endpoint.stateDir, "fleet");
  const region = endpoint.context.region;
  // Each device presents its own token, as each real nucleus does, so its calls are its own.
  const tokens = deviceCredentialsOf(endpoint);
  const exchange = (thingName: string) => ({
    credentialsUri: endpoint.credentials.fullUri,
    token: tokens.issueDeviceToken(thingName),
  });
  const hosts = new Map<string, InferenceHost>();
  const fleet = new SimulatedFleet({
    cloud: storeCloud(greengrassStoreOf(endpoint.url), endpointThings(endpoint)),
    s3For: (thingName) => deviceS3Client(endpoint.url, region, exchange(thingName)),
    hostFor: (thingName) => {
      const host = new InferenceHost({
        thingName,
        s3: deviceS3Client(endpoint.url, region, exchange(thingName)),
        workPath: join(rootDir, thingName, "work", "com.edgemlops.InferenceRuntime"),
        ...(options.log ? { log: options.log } : {}),
      });
      hosts.set(thingName, host);
      return host;
    },
    rootDir,
    ...(options.groups ? { groups: options.groups } : {}),
    ...(options.knobs ? { knobs: options.knobs } : {}),
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  await fleet.start();
  const host = (thingName: string) => {
    const found = hosts.get(thingName);
    if (!found) throw new Error(`no device ${thingName}`);
    return found;
  };
  const target = (device: SimulatedDevice): TrafficTarget => ({
    thingName: device.thingName,
    drift: () => device.knobs.drift,
    modelVersion: () => host(device.thingName).models()[0]?.componentVersion,
    async predict(features) {
      const h = host(device.thingName);
      const client = h.connection();
      const model = h.models()[0];
      if (!client || !model) throw new Error(`${device.thingName} serves no model`);
      return client.predict(model.name, {
        [CLASSIFIER_INPUT]: { dtype: "float32", shape: [1, features.length], data: features },
      });
    },
  });
  return {
    fleet,
    devices: fleet.devices,
    host,
    traffic: (trafficOptions, thingNames) =>
      runTraffic(
        fleet.devices.filter((d) => (thingNames ? thingNames.includes(d.thingName) : true)).map(target),
        trafficOptions,
      ),
    async captureSettled(timeoutMs) {
      await Promise.all([...hosts.values()].map((h) => h.captureSettled(timeoutMs)));
    },
    stop: () => fleet.stop(),
  };
}
