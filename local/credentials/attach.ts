import { join } from "node:path";
import type { LocalEndpoint } from "../endpoint.ts";
import { AdminReply } from "../server/http.ts";
import { DeviceCredentials, InvalidThingNameError } from "./device-tokens.ts";

const attached = new WeakMap<LocalEndpoint, DeviceCredentials>();

/**
 * The endpoint's per-device token exchange, installed on first use: device tokens persist in
 * `<stateDir>/credentials/tokens.json`, the operator's token keeps working, and the admin routes
 * `GET credentials/devices` (never the tokens) and `POST credentials/devices` (`{thingName, revoke?}`)
 * serve out-of-process callers.
 * @example const token = deviceCredentialsOf(endpoint).issueDeviceToken("canary-1");
 */
export function deviceCredentialsOf(endpoint: LocalEndpoint): DeviceCredentials {
  const known = attached.get(endpoint);
  if (known) return known;
  // An endpoint that builds the service itself exposes it here; otherwise it is built now.
  const own = (endpoint.credentials as { devices?: unknown }).devices;
  const service =
    own instanceof DeviceCredentials
      ? own
      : new DeviceCredentials({
          operatorToken: endpoint.credentials.token,
          stateDir: join(endpoint.stateDir, "credentials"),
        });
  // Same route as the single-token exchange it replaces; the operator's token stays valid.
  endpoint.router.addAdminRoute("GET", "credentials", service.handler);
  endpoint.router.addAdminRoute("GET", "credentials/devices", async () => ({ devices: service.devices() }));
  endpoint.router.addAdminRoute("POST", "credentials/devices", async (req) => {
    const { thingName, revoke } = (req.body ?? {}) as { thingName?: unknown; revoke?: unknown };
    try {
      if (revoke === true) return { thingName, revoked: service.revokeDeviceToken(String(thingName)) };
      return { thingName, token: service.issueDeviceToken(thingName as string) };
    } catch (error) {
      if (error instanceof InvalidThingNameError) return new AdminReply(400, { message: error.message });
      throw error;
    }
  });
  attached.set(endpoint, service);
  return service;
}
