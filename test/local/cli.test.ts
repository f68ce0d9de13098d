import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateModelPackageGroupCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { afterAll, describe, expect, it, vi } from "vitest";
import { run } from "../../cli/local.ts";
import { credentials, region } from "./helpers.ts";

const root = new URL("../..", import.meta.url).pathname;

function startCli(args: string[]): {
  child: ChildProcess;
  ready: Promise<string>;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "local", "up", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^ready (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code} before ready; stdout: ${out}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, ready, exit };
}

describe("edge-mlops local", () => {
  const dir = mkdtempSync(join(tmpdir(), "edge-mlops-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serves after one ready line, takes faults at runtime, and stops cleanly on SIGINT with state saved", async () => {
    const { child, ready, exit } = startCli([
      "--port",
      "0",
      "--state-dir",
      dir,
      "--reset",
      "--time-scale",
      "0.02",
    ]);
    try {
      const url = await ready;
      const port = new URL(url).port;
      const sm = new SageMakerClient({ endpoint: url, region, credentials });
      await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: "from-cli" }));
      sm.destroy();

      const written: string[] = [];
      const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
        written.push(String(chunk));
        return true;
      });
      try {
        expect(
          await run(["faults", "--port", port, "--throttle", "sagemaker=0.25", "--fail-jobs", "^bad-"]),
        ).toBe(0);
      } finally {
        spy.mockRestore();
      }
      expect(JSON.parse(written.join(""))).toEqual({
        faults: { throttle: { sagemaker: 0.25 }, failJobs: [{ pattern: "^bad-" }] },
      });
      const health = (await (await fetch(`${url}/_edge-mlops/health`)).json()) as { services: string[] };
      expect(health.services).toEqual(expect.arrayContaining(["iot", "s3", "sagemaker"]));

      child.kill("SIGINT");
      expect(await exit).toBe(0);
      const registry = JSON.parse(readFileSync(join(dir, "sagemaker", "registry.json"), "utf8"));
      expect(Object.keys(registry.groups)).toEqual(["from-cli"]);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("rejects bad options with exit code 2 and says why", async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      errors.push(String(chunk));
      return true;
    });
    try {
      expect(await run(["up", "--time-scale", "fast"])).toBe(2);
      expect(await run(["faults", "--throttle", "sagemaker"])).toBe(2);
      expect(await run(["tick", "--port", "1"])).toBe(2);
      expect(await run(["launch"])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(errors.join("")).toContain('--time-scale must be a number >= 0, got "fast"');
    expect(errors.join("")).toContain('--throttle takes SERVICE=NUMBER, got "sagemaker"');
    expect(errors.join("")).toContain("no local endpoint answers at 127.0.0.1:1");
    expect(errors.join("")).toContain('unknown subcommand "launch"');
  });
});
