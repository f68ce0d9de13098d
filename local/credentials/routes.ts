import { AdminReply, type Router } from "../server/http.ts";
import { type DeviceCredentials, InvalidThingNameError } from "./device-tokens.ts";

/**
 * The token exchange's admin routes: `GET credentials` (the container-credentials protocol devices
 * call), `GET credentials/devices` (who holds a token; never the tokens) and `POST credentials/devices`
 * (`{thingName, revoke?}`: issue or revoke a device's token, for devices run by hand).
 */
export function addCredentialRoutes(router: Router, service: DeviceCredentials): void {
  router.addAdminRoute("GET", "credentials", service.handler);
  router.addAdminRoute("GET", "credentials/devices", async () => ({ devices: service.devices() }));
  router.addAdminRoute("POST", "credentials/devices", async (req) => {
    const { thingName, revoke } = (req.body ?? {}) as { thingName?: unknown; revoke?: unknown };
    try {
      if (revoke === true) return { thingName, revoked: service.revokeDeviceToken(String(thingName)) };
      return { thingName, token: service.issueDeviceToken(thingName as string) };
    } catch (error) {
      if (error instanceof InvalidThingNameError) return new AdminReply(400, { message: error.message });
      throw error;
    }
  });
}
