import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  CreateCompilationJobCommand,
  CreateModelPackageGroupCommand,
  DescribeCompilationJobCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackageGroupsCommand,
  SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startLocalEndpoint } from "../../local/endpoint.ts";
import { credentials, region, startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";
import { classifierOnnx } from "./onnx-fixtures.ts";

describe("local endpoint state", () => {
  const dir = mkdtempSync(join(tmpdir(), "edge-mlops-restart-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("survives a restart (registry, jobs, objects, things, clock) and --reset clears it", async () => {
    const first = await startTestEndpoint({ stateDir: dir });
    const sm = first.clients.sagemaker;
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: "kept" }));
    await first.clients.s3.send(new CreateBucketCommand({ Bucket: "models" }));
    await first.clients.s3.send(
      new PutObjectCommand({ Bucket: "models", Key: "m.onnx", Body: classifierOnnx() }),
    );
    await sm.send(
      new CreateCompilationJobCommand({
        CompilationJobName: "kept-job",
        RoleArn: "arn:aws:iam::000000000000:role/r",
        InputConfig: { S3Uri: "s3://models/m.onnx", Framework: "ONNX", DataInputConfig: '{"input":[1,16]}' },
        OutputConfig: { S3OutputLocation: "s3://models/out", TargetDevice: "jetson_nano" },
        StoppingCondition: { MaxRuntimeInSeconds: 60 },
      }),
    );
    await first.sagemaker.settle();
    await first.iot.things.createThing("core-1", {});
    const clockAtClose = first.clock.now().getTime();
    await first.close();
    first.clients.sagemaker.destroy();
    first.clients.s3.destroy();

    const second = await startTestEndpoint({ stateDir: dir });
    try {
      const group = await second.clients.sagemaker.send(
        new DescribeModelPackageGroupCommand({ ModelPackageGroupName: "kept" }),
      );
      expect(group.ModelPackageGroupName).toBe("kept");
      const job = await second.clients.sagemaker.send(
        new DescribeCompilationJobCommand({ CompilationJobName: "kept-job" }),
      );
      expect(job.CompilationJobStatus).toBe("COMPLETED");
      const object = await second.clients.s3.send(new GetObjectCommand({ Bucket: "models", Key: "m.onnx" }));
      expect(Buffer.from((await object.Body?.transformToByteArray()) ?? [])).toEqual(classifierOnnx());
      expect(second.iot.things.thing("core-1").thingName).toBe("core-1");
      expect(second.clock.now().getTime()).toBeGreaterThanOrEqual(clockAtClose);
    } finally {
      await second.close();
      second.clients.sagemaker.destroy();
      second.clients.s3.destroy();
    }

    const third = await startTestEndpoint({ stateDir: dir, reset: true });
    try {
      const groups = await third.clients.sagemaker.send(new ListModelPackageGroupsCommand({}));
      expect(groups.ModelPackageGroupSummaryList).toEqual([]);
      await expect(
        third.clients.s3.send(new GetObjectCommand({ Bucket: "models", Key: "m.onnx" })),
      ).rejects.toMatchObject({ name: "NoSuchBucket" });
    } finally {
      await third.close();
      third.clients.sagemaker.destroy();
      third.clients.s3.destroy();
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("local endpoint restarts", () => {
  it("resumes a compilation job that was running when the endpoint stopped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-mlops-resume-"));
    try {
      // 5 s STARTING at 0.2 wall s per clock s: the job is still starting when the endpoint closes.
      const first = await startTestEndpoint({ stateDir: dir, timeScale: 0.2 });
      await first.clients.s3.send(new CreateBucketCommand({ Bucket: "models" }));
      await first.clients.s3.send(
        new PutObjectCommand({ Bucket: "models", Key: "m.onnx", Body: classifierOnnx() }),
      );
      await first.clients.sagemaker.send(
        new CreateCompilationJobCommand({
          CompilationJobName: "interrupted",
          RoleArn: "arn:aws:iam::000000000000:role/r",
          InputConfig: {
            S3Uri: "s3://models/m.onnx",
            Framework: "ONNX",
            DataInputConfig: '{"input":[1,16]}',
          },
          OutputConfig: { S3OutputLocation: "s3://models/out", TargetDevice: "jetson_nano" },
          StoppingCondition: { MaxRuntimeInSeconds: 60 },
        }),
      );
      await first.close();
      for (const c of Object.values(first.clients)) c.destroy();

      const second = await startTestEndpoint({ stateDir: dir });
      try {
        const job = await until(
          () =>
            second.clients.sagemaker.send(
              new DescribeCompilationJobCommand({ CompilationJobName: "interrupted" }),
            ),
          (j) => j.CompilationJobStatus === "COMPLETED" || j.CompilationJobStatus === "FAILED",
        );
        expect(job.CompilationJobStatus).toBe("COMPLETED");
        expect(job.ModelArtifacts?.S3ModelArtifacts).toBe("s3://models/out/m-jetson_nano.tar.gz");
      } finally {
        await second.close();
        for (const c of Object.values(second.clients)) c.destroy();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start over an unreadable state file, naming it, and leaves nothing listening", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-mlops-corrupt-"));
    try {
      mkdirSync(join(dir, "sagemaker"), { recursive: true });
      writeFileSync(join(dir, "sagemaker", "registry.json"), "{ not json");
      const port = await freePort();
      await expect(startLocalEndpoint({ port, stateDir: dir, discover: false })).rejects.toMatchObject({
        name: "StateFileError",
        message: expect.stringContaining(join(dir, "sagemaker", "registry.json")),
      });
      await expect(fetch(`http://127.0.0.1:${port}/_edge-mlops/health`)).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("local endpoint faults", () => {
  let ep: TestEndpoint;
  beforeAll(async () => {
    ep = await startTestEndpoint();
    await ep.clients.sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: "g" }));
  });
  afterAll(() => ep.dispose());
  afterEach(() => ep.faults.set({}));

  it("throttles 30% of SageMaker calls; the SDK retries ThrottlingException and every call succeeds", async () => {
    ep.faults.set({ throttle: { sagemaker: 0.3 }, seed: 42 });
    const sm = new SageMakerClient({ endpoint: ep.url, region, credentials, maxAttempts: 10 });
    try {
      let attempts = 0;
      // Throttling retries back off from 500 ms: 12 calls keep the test to a few seconds.
      for (let i = 0; i < 12; i++) {
        const out = await sm.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: "g" }));
        expect(out.ModelPackageGroupName).toBe("g");
        attempts += out.$metadata.attempts ?? 1;
      }
      const throttled = ep.faults.throttled.get("sagemaker:DescribeModelPackageGroup") ?? 0;
      expect(throttled).toBeGreaterThan(0);
      expect(attempts).toBe(12 + throttled);
      expect(ep.router.requests.get("sagemaker:DescribeModelPackageGroup")).toBeGreaterThanOrEqual(
        12 + throttled,
      );
    } finally {
      sm.destroy();
    }
  });

  it("changes faults at runtime through the admin path; a throttled call that exhausts retries surfaces ThrottlingException", async () => {
    const set = await fetch(`${ep.url}/_edge-mlops/faults`, {
      method: "POST",
      body: JSON.stringify({ throttle: { "sagemaker:ListModelPackageGroups": 1 }, latencyMs: { s3: 120 } }),
    });
    expect(set.status).toBe(200);
    const sm = new SageMakerClient({ endpoint: ep.url, region, credentials, maxAttempts: 2 });
    try {
      await expect(sm.send(new ListModelPackageGroupsCommand({}))).rejects.toMatchObject({
        name: "ThrottlingException",
        $metadata: { httpStatusCode: 400, attempts: 2 },
      });
      // Other operations of the service are untouched.
      await expect(
        sm.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: "g" })),
      ).resolves.toBeDefined();
    } finally {
      sm.destroy();
    }
    await ep.clients.s3.send(new CreateBucketCommand({ Bucket: "slow" }));
    const started = performance.now();
    await ep.clients.s3.send(new PutObjectCommand({ Bucket: "slow", Key: "k", Body: "v" }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);

    const bad = await fetch(`${ep.url}/_edge-mlops/faults`, {
      method: "POST",
      body: JSON.stringify({ throttle: { s3: 2 } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain(
      "throttle.s3 must be a number in [0, 1]",
    );
  });

  it("throttles S3 with SlowDown (503), which the SDK retries", async () => {
    await ep.clients.s3.send(new CreateBucketCommand({ Bucket: "throttled" }));
    ep.faults.set({ throttle: { s3: 0.3 }, seed: 3 });
    let attempts = 0;
    for (let i = 0; i < 6; i++) {
      const out = await ep.clients.s3.send(
        new PutObjectCommand({ Bucket: "throttled", Key: `k${i}`, Body: "v" }),
      );
      attempts += out.$metadata.attempts ?? 1;
    }
    const throttled = [...ep.faults.throttled.entries()]
      .filter(([k]) => k.startsWith("s3:"))
      .reduce((n, [, v]) => n + v, 0);
    expect(throttled).toBeGreaterThan(0);
    expect(attempts).toBe(6 + throttled);
  });

  it("forces job failures by name pattern", async () => {
    ep.faults.set({ failJobs: [{ kind: "compilation", pattern: "^doomed" }] });
    await ep.clients.s3.send(new CreateBucketCommand({ Bucket: "doom-models" }));
    await ep.clients.s3.send(
      new PutObjectCommand({ Bucket: "doom-models", Key: "c.onnx", Body: classifierOnnx() }),
    );
    const input = (name: string) =>
      new CreateCompilationJobCommand({
        CompilationJobName: name,
        RoleArn: "arn:aws:iam::000000000000:role/r",
        InputConfig: {
          S3Uri: "s3://doom-models/c.onnx",
          Framework: "ONNX",
          DataInputConfig: '{"input":[1,16]}',
        },
        OutputConfig: { S3OutputLocation: "s3://doom-models/out", TargetDevice: "jetson_nano" },
        StoppingCondition: { MaxRuntimeInSeconds: 60 },
      });
    await ep.clients.sagemaker.send(input("doomed-1"));
    await ep.clients.sagemaker.send(input("fine-1"));
    const status = (name: string) =>
      until(
        () => ep.clients.sagemaker.send(new DescribeCompilationJobCommand({ CompilationJobName: name })),
        (j) => j.CompilationJobStatus === "COMPLETED" || j.CompilationJobStatus === "FAILED",
      );
    expect(await status("doomed-1")).toMatchObject({
      CompilationJobStatus: "FAILED",
      FailureReason: expect.stringContaining("forced failure"),
    });
    expect((await status("fine-1")).CompilationJobStatus).toBe("COMPLETED");
  });
});

describe("token exchange", () => {
  let ep: TestEndpoint;
  const saved = { ...process.env };
  beforeAll(async () => {
    ep = await startTestEndpoint({ credentialsToken: "device-token-123" });
  });
  afterAll(async () => {
    process.env = saved;
    await ep.dispose();
  });

  it("refuses a request without the token (401) or with a wrong one (403)", async () => {
    const none = await fetch(ep.credentials.fullUri);
    expect(none.status).toBe(401);
    const wrong = await fetch(ep.credentials.fullUri, { headers: { authorization: "guess" } });
    expect(wrong.status).toBe(403);
    const right = await fetch(ep.credentials.fullUri, { headers: { authorization: "device-token-123" } });
    expect(right.status).toBe(200);
    const body = (await right.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(["AccessKeyId", "Expiration", "SecretAccessKey", "Token"]);
    expect(Date.parse(body.Expiration as string)).toBeGreaterThan(Date.now());
  });

  it("serves the SDK's default credential chain the Greengrass way (FULL_URI + authorization token)", async () => {
    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"])
      delete process.env[k];
    process.env.AWS_CONFIG_FILE = join(ep.dir, "no-config");
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(ep.dir, "no-credentials");
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = ep.credentials.fullUri;
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "device-token-123";
    const sm = new SageMakerClient({ endpoint: ep.url, region });
    try {
      await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: "from-device" }));
      const identity = await sm.config.credentials();
      expect(identity.accessKeyId).toMatch(/^ASIALOCAL/);
      expect(identity.sessionToken).toBeTruthy();
    } finally {
      sm.destroy();
    }
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "stolen";
    const refused = new SageMakerClient({ endpoint: ep.url, region });
    try {
      await expect(refused.send(new ListModelPackageGroupsCommand({}))).rejects.toThrow();
    } finally {
      refused.destroy();
    }
  });
});
