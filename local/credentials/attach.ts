import type { LocalEndpoint } from "../endpoint.ts";
import type { DeviceCredentials } from "./device-tokens.ts";

/**
 * The endpoint's per-device token exchange: device tokens persist in
 * `<stateDir>/credentials/tokens.json` and the operator's token keeps working.
 * @example const token = deviceCredentialsOf(endpoint).issueDeviceToken("canary-1");
 */
export function deviceCredentialsOf(endpoint: LocalEndpoint): DeviceCredentials {
  return endpoint.credentials.devices;
}
