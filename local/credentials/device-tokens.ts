import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { type AdminHandler, AdminReply, type AdminRequest } from "../server/http.ts";
import { JsonState } from "../server/state.ts";

/** Who a container authorization token belongs to: the operator (`local up` users) or one thing. */
export type Principal = { kind: "operator" } | { kind: "device"; thingName: string };

/** A credentials request was refused; `status` is what the token exchange answers with. */
export class TokenRefusedError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
    this.name = "TokenRefusedError";
  }
}

export class InvalidThingNameError extends Error {
  constructor(thingName: unknown) {
    super(`thing name ${JSON.stringify(thingName)} is not valid (1-128 of a-z A-Z 0-9 : _ -)`);
    this.name = "InvalidThingNameError";
  }
}

interface DeviceRecord {
  token: string;
  issuedAt: string;
  revokedAt?: string;
}

/** Device tokens by thing name; revoked ones are kept so a replayed token gets "revoked", not "unknown". */
interface TokenState {
  devices: Record<string, DeviceRecord[]>;
}

export interface Vend {
  principal: string;
  accessKeyId: string;
  at: string;
}

export interface DeviceCredentialsOptions {
  /** The single token `edge-mlops local up` prints (AWS_CONTAINER_AUTHORIZATION_TOKEN for hand-run devices). */
  operatorToken: string;
  /** Where `tokens.json` goes; without it device tokens live only as long as the process. */
  stateDir?: string;
  /** Lifetime of the credentials handed out, seconds of wall-clock time (SDKs refresh before expiry). */
  lifetimeSeconds?: number;
}

const thingNamePattern = /^[a-zA-Z0-9:_-]{1,128}$/;
const base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
export const OPERATOR = "operator";

const sameToken = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * A device's access key id, the same on every vend: `ASIADEV` + 13 base32 characters of the
 * thing name's SHA-256 (20 characters, as STS's are), so any log that shows the key shows the device.
 * @example accessKeyIdFor("canary-1") // "ASIADEV…"
 */
export function accessKeyIdFor(thingName: string): string {
  const digest = createHash("sha256").update(`device:${thingName}`).digest();
  let out = "";
  for (let i = 0; i < 13; i++) out += base32[(digest[i] ?? 0) % 32];
  return `ASIADEV${out}`;
}

export const newToken = () => randomBytes(24).toString("base64url");

/**
 * The Greengrass token exchange service for a fleet: one container authorization token per core
 * device (as each real nucleus has its own), plus the operator's token. Missing token → 401,
 * unknown or revoked → 403. Device credentials carry an access key id derived from the thing name,
 * and every vend is recorded, so requests signed with them can be traced to the device.
 * @example const tes = new DeviceCredentials({ operatorToken, stateDir }); const token = tes.issueDeviceToken("canary-1");
 */
export class DeviceCredentials {
  private readonly state: JsonState<TokenState> | undefined;
  /** A Map, not the parsed object: a thing may be named `__proto__`. */
  private readonly tokens: Map<string, DeviceRecord[]>;
  private readonly vends: Vend[] = [];
  private readonly counts = new Map<string, number>();

  constructor(private readonly options: DeviceCredentialsOptions) {
    this.state = options.stateDir
      ? new JsonState<TokenState>(join(options.stateDir, "tokens.json"), { devices: {} })
      : undefined;
    this.tokens = new Map(Object.entries(this.state?.data.devices ?? {}));
  }

  private save(): void {
    if (!this.state) return;
    this.state.data.devices = Object.fromEntries(this.tokens);
    this.state.save();
  }

  /**
   * The device's current token, issued on first call; repeated calls return the same token, so a
   * device restarted (or an issue retried) keeps working. After a revoke a new one is issued.
   */
  issueDeviceToken(thingName: string): string {
    if (typeof thingName !== "string" || !thingNamePattern.test(thingName))
      throw new InvalidThingNameError(thingName);
    const history = this.tokens.get(thingName) ?? [];
    const current = history.find((r) => !r.revokedAt);
    if (current) return current.token;
    const token = newToken();
    this.tokens.set(thingName, [...history, { token, issuedAt: new Date().toISOString() }]);
    this.save();
    return token;
  }

  /** Revokes the device's token; returns whether there was one to revoke (idempotent). */
  revokeDeviceToken(thingName: string): boolean {
    const current = this.tokens.get(thingName)?.find((r) => !r.revokedAt);
    if (!current) return false;
    current.revokedAt = new Date().toISOString();
    this.save();
    return true;
  }

  /** Whom the token belongs to; throws TokenRefusedError (401 missing, 403 unknown or revoked). */
  authenticate(token: string | undefined): Principal {
    if (!token)
      throw new TokenRefusedError(
        401,
        "the Authorization header with the container authorization token is missing",
      );
    if (sameToken(token, this.options.operatorToken)) return { kind: "operator" };
    for (const [thingName, history] of this.tokens) {
      const record = history.find((r) => sameToken(token, r.token));
      if (!record) continue;
      if (record.revokedAt)
        throw new TokenRefusedError(403, `the container authorization token of ${thingName} was revoked`);
      return { kind: "device", thingName };
    }
    throw new TokenRefusedError(403, "the container authorization token is not valid");
  }

  /** The thing a device access key id was vended to, `"operator"` for the operator's keys, else undefined. */
  principalOf(accessKeyId: string): string | undefined {
    if (accessKeyId.startsWith("ASIALOCAL")) return OPERATOR;
    return [...this.tokens.keys()].find((name) => accessKeyIdFor(name) === accessKeyId);
  }

  /** Credentials vended since start, oldest first (the last 1000). */
  vended(): Vend[] {
    return [...this.vends];
  }

  /** Devices with a token: their access key id, whether it is revoked, and vends since start (never the token). */
  devices(): { thingName: string; accessKeyId: string; revoked: boolean; vends: number }[] {
    return [...this.tokens].map(([thingName, history]) => ({
      thingName,
      accessKeyId: accessKeyIdFor(thingName),
      revoked: !history.some((r) => !r.revokedAt),
      vends: this.counts.get(thingName) ?? 0,
    }));
  }

  /** The container-credentials answer for a token (AccessKeyId, SecretAccessKey, Token, Expiration). */
  vend(token: string | undefined) {
    const principal = this.authenticate(token);
    const name = principal.kind === "device" ? principal.thingName : OPERATOR;
    const accessKeyId =
      principal.kind === "device"
        ? accessKeyIdFor(principal.thingName)
        : `ASIALOCAL${randomBytes(6).toString("hex").toUpperCase()}`;
    // Expiration is wall-clock time: the SDK compares it with its own Date.now().
    const expiration = new Date(Date.now() + (this.options.lifetimeSeconds ?? 3600) * 1000);
    this.vends.push({ principal: name, accessKeyId, at: new Date().toISOString() });
    if (this.vends.length > 1000) this.vends.shift();
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    return {
      AccessKeyId: accessKeyId,
      SecretAccessKey: randomBytes(20).toString("base64"),
      Token: randomBytes(32).toString("base64"),
      Expiration: expiration.toISOString(),
    };
  }

  /** `GET /_edge-mlops/credentials`: the token exchange route. */
  readonly handler: AdminHandler = async (req: AdminRequest) => {
    try {
      return this.vend(req.headers.authorization);
    } catch (error) {
      if (error instanceof TokenRefusedError) return new AdminReply(error.status, { message: error.message });
      throw error;
    }
  };
}
