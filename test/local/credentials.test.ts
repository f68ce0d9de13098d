import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceCredentialsOf } from "../../local/credentials/attach.ts";
import {
  accessKeyIdFor,
  DeviceCredentials,
  InvalidThingNameError,
  TokenRefusedError,
} from "../../local/credentials/device-tokens.ts";
import { startLocalEndpoint } from "../../local/endpoint.ts";
import { startTestEndpoint, type TestEndpoint } from "./helpers.ts";

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof TokenRefusedError) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error("not refused");
};

describe("device credentials (unit)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "edge-mlops-creds-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("issues one token per thing, the same one on retry, and tells whose a token is", () => {
    const tes = new DeviceCredentials({ operatorToken: "op", stateDir: dir });
    const a = tes.issueDeviceToken("canary-1");
    const b = tes.issueDeviceToken("fleet-1");
    expect(a).not.toBe(b);
    expect(tes.issueDeviceToken("canary-1")).toBe(a);
    expect(tes.authenticate(a)).toEqual({ kind: "device", thingName: "canary-1" });
    expect(tes.authenticate(b)).toEqual({ kind: "device", thingName: "fleet-1" });
    expect(tes.authenticate("op")).toEqual({ kind: "operator" });
    expect(refusal(() => tes.authenticate(undefined)).status).toBe(401);
    expect(refusal(() => tes.authenticate("guess"))).toEqual({
      status: 403,
      message: "the container authorization token is not valid",
    });
    expect(() => tes.issueDeviceToken("bad name/1")).toThrow(InvalidThingNameError);
  });

  it("derives a 20-character access key id per device and maps it back", () => {
    const tes = new DeviceCredentials({ operatorToken: "op" });
    const token = tes.issueDeviceToken("canary-1");
    const vended = tes.vend(token);
    expect(vended.AccessKeyId).toBe(accessKeyIdFor("canary-1"));
    expect(vended.AccessKeyId).toMatch(/^ASIADEV[A-Z2-7]{13}$/);
    expect(accessKeyIdFor("canary-2")).not.toBe(vended.AccessKeyId);
    expect(tes.principalOf(vended.AccessKeyId)).toBe("canary-1");
    expect(tes.principalOf(tes.vend("op").AccessKeyId)).toBe("operator");
    expect(tes.principalOf("AKIAUNKNOWN")).toBeUndefined();
    expect(tes.vended().map((v) => v.principal)).toEqual(["canary-1", "operator"]);
  });

  it("keeps tokens and revocations across restarts, and re-issues after a revoke", () => {
    const first = new DeviceCredentials({ operatorToken: "op", stateDir: dir });
    const old = first.issueDeviceToken("canary-1");
    expect(first.revokeDeviceToken("canary-1")).toBe(true);
    expect(first.revokeDeviceToken("canary-1")).toBe(false);
    const fleetToken = first.issueDeviceToken("fleet-1");
    const odd = first.issueDeviceToken("__proto__");

    const second = new DeviceCredentials({ operatorToken: "op2", stateDir: dir });
    expect(second.authenticate(fleetToken)).toEqual({ kind: "device", thingName: "fleet-1" });
    expect(second.authenticate(odd)).toEqual({ kind: "device", thingName: "__proto__" });
    expect(refusal(() => second.authenticate(old))).toEqual({
      status: 403,
      message: "the container authorization token of canary-1 was revoked",
    });
    const fresh = second.issueDeviceToken("canary-1");
    expect(fresh).not.toBe(old);
    expect(second.authenticate(fresh)).toEqual({ kind: "device", thingName: "canary-1" });
    expect(refusal(() => second.authenticate("op")).status).toBe(403);
    const file = JSON.parse(readFileSync(join(dir, "tokens.json"), "utf8")) as {
      devices: Record<string, { revokedAt?: string }[]>;
    };
    expect(file.devices["canary-1"]?.map((r) => Boolean(r.revokedAt))).toEqual([true, false]);
  });
});

describe("token exchange route with device tokens", () => {
  let ep: TestEndpoint;
  beforeAll(async () => {
    ep = await startTestEndpoint({ credentialsToken: "operator-token" });
  });
  afterAll(() => ep.dispose());

  it("accepts each device's token, refuses a revoked one (403) and none (401), and keeps the operator's", async () => {
    const tes = deviceCredentialsOf(ep);
    expect(deviceCredentialsOf(ep)).toBe(tes);
    const one = tes.issueDeviceToken("edge-device-001");
    const two = tes.issueDeviceToken("edge-device-002");
    const get = (token?: string) =>
      fetch(ep.credentials.fullUri, token ? { headers: { authorization: token } } : {});

    const ok = await get(one);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { AccessKeyId: string }).AccessKeyId).toBe(
      accessKeyIdFor("edge-device-001"),
    );

    tes.revokeDeviceToken("edge-device-002");
    const revoked = await get(two);
    expect(revoked.status).toBe(403);
    expect(await revoked.json()).toEqual({
      message: "the container authorization token of edge-device-002 was revoked",
    });
    // Revoking one device leaves the others working.
    expect((await get(one)).status).toBe(200);
    const none = await get();
    expect(none.status).toBe(401);
    expect(((await none.json()) as { message: string }).message).toMatch(/Authorization header/);
    const operator = await get("operator-token");
    expect(((await operator.json()) as { AccessKeyId: string }).AccessKeyId).toMatch(/^ASIALOCAL/);

    const listed = await fetch(`${ep.url}/_edge-mlops/credentials/devices`);
    expect(await listed.json()).toEqual({
      devices: [
        {
          thingName: "edge-device-001",
          accessKeyId: accessKeyIdFor("edge-device-001"),
          revoked: false,
          vends: 2,
        },
        {
          thingName: "edge-device-002",
          accessKeyId: accessKeyIdFor("edge-device-002"),
          revoked: true,
          vends: 0,
        },
      ],
    });
  });

  it("issues and revokes through the admin route, refusing a bad thing name", async () => {
    const post = (body: unknown) =>
      fetch(`${ep.url}/_edge-mlops/credentials/devices`, { method: "POST", body: JSON.stringify(body) });
    const issued = (await (await post({ thingName: "hand-run-1" })).json()) as { token: string };
    expect((await fetch(ep.credentials.fullUri, { headers: { authorization: issued.token } })).status).toBe(
      200,
    );
    expect(await (await post({ thingName: "hand-run-1", revoke: true })).json()).toEqual({
      thingName: "hand-run-1",
      revoked: true,
    });
    expect((await fetch(ep.credentials.fullUri, { headers: { authorization: issued.token } })).status).toBe(
      403,
    );
    const bad = await post({ thingName: "no spaces" });
    expect(bad.status).toBe(400);
  });

  it("honours device tokens issued before an endpoint restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-mlops-creds-restart-"));
    try {
      const first = await startLocalEndpoint({ port: 0, stateDir: dir, discover: false, timeScale: 0 });
      const token = deviceCredentialsOf(first).issueDeviceToken("edge-device-001");
      await first.close();
      const second = await startLocalEndpoint({ port: 0, stateDir: dir, discover: false, timeScale: 0 });
      try {
        deviceCredentialsOf(second);
        const res = await fetch(second.credentials.fullUri, { headers: { authorization: token } });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { AccessKeyId: string }).AccessKeyId).toBe(
          accessKeyIdFor("edge-device-001"),
        );
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
