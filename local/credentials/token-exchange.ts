import type { AdminHandler } from "../server/http.ts";
import type { Clock } from "../server/types.ts";
import { DeviceCredentials, newToken } from "./device-tokens.ts";

export { newToken };

export interface TokenExchangeOptions {
  /** The operator's token (what hand-run devices put in AWS_CONTAINER_AUTHORIZATION_TOKEN). */
  token: string;
  /** Lifetime of the credentials handed out, seconds of wall-clock time (SDKs refresh before expiry). */
  lifetimeSeconds?: number;
  /** Where device tokens persist; without it they live as long as the process. */
  stateDir?: string;
  /** Accepted for the endpoint's call; expiry is wall-clock time, which is what SDKs compare with. */
  clock?: Clock;
}

/**
 * The Greengrass token exchange service, local edition: the container-credentials protocol
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`). A request without
 * a token is refused with 401, an unknown or revoked one with 403; the credentials are dummies the
 * endpoint accepts. `service` issues and revokes per-device tokens.
 */
export function tokenExchange(
  options: TokenExchangeOptions,
): AdminHandler & { issued: () => number; service: DeviceCredentials } {
  const service = new DeviceCredentials({
    operatorToken: options.token,
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    ...(options.lifetimeSeconds !== undefined ? { lifetimeSeconds: options.lifetimeSeconds } : {}),
  });
  return Object.assign(service.handler, { issued: () => service.vended().length, service });
}
