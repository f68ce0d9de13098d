import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IoTClient } from "@aws-sdk/client-iot";
import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { type LocalEndpoint, type LocalEndpointOptions, startLocalEndpoint } from "../../local/endpoint.ts";

export const region = "us-east-1";
export const credentials = { accessKeyId: "AKIDLOCALTEST", secretAccessKey: "not-checked" };

export interface TestEndpoint extends LocalEndpoint {
  dir: string;
  clients: { sagemaker: SageMakerClient; s3: S3Client; iot: IoTClient };
  /** Close and delete the state dir. */
  dispose(): Promise<void>;
}

/** A started endpoint on a free port over a fresh temp state dir, with real SDK v3 clients pointed at it. */
export async function startTestEndpoint(options: LocalEndpointOptions = {}): Promise<TestEndpoint> {
  const dir = options.stateDir ?? mkdtempSync(join(tmpdir(), "edge-mlops-local-test-"));
  const endpoint = await startLocalEndpoint({
    port: 0,
    timeScale: 0,
    discover: false,
    ...options,
    stateDir: dir,
  });
  const common = { endpoint: endpoint.url, region, credentials, maxAttempts: 5 };
  const clients = {
    sagemaker: new SageMakerClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    iot: new IoTClient(common),
  };
  return Object.assign(endpoint, {
    dir,
    clients,
    async dispose() {
      for (const c of Object.values(clients)) c.destroy();
      await endpoint.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** Polls `read` until `done` holds, on the wall clock, failing after `timeoutMs`. */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
