import { randomBytes, timingSafeEqual } from "node:crypto";
import { type AdminHandler, AdminReply } from "../server/http.ts";
import type { Clock } from "../server/types.ts";

export interface TokenExchangeOptions {
  /** What devices put in AWS_CONTAINER_AUTHORIZATION_TOKEN. */
  token: string;
  /** Lifetime of the credentials handed out, seconds of wall-clock time (SDKs refresh before expiry). */
  lifetimeSeconds?: number;
  clock?: Clock;
}

const sameToken = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * The Greengrass token exchange service, local edition: the container-credentials protocol
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`). A request without
 * the token is refused with 401, a wrong one with 403; the credentials are dummies the endpoint accepts.
 */
export function tokenExchange(options: TokenExchangeOptions): AdminHandler & { issued: () => number } {
  let issued = 0;
  const handler = async (req: Parameters<AdminHandler>[0]) => {
    const given = req.headers.authorization;
    if (!given)
      return new AdminReply(401, {
        message: "the Authorization header with the container authorization token is missing",
      });
    if (!sameToken(given, options.token))
      return new AdminReply(403, { message: "the container authorization token is not valid" });
    issued += 1;
    // Expiration is wall-clock time: the SDK compares it with its own Date.now().
    const expiration = new Date(Date.now() + (options.lifetimeSeconds ?? 3600) * 1000);
    return {
      AccessKeyId: `ASIALOCAL${randomBytes(6).toString("hex").toUpperCase()}`,
      SecretAccessKey: randomBytes(20).toString("base64"),
      Token: randomBytes(32).toString("base64"),
      Expiration: expiration.toISOString(),
    };
  };
  return Object.assign(handler, { issued: () => issued });
}

export const newToken = () => randomBytes(24).toString("base64url");
