import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { InferenceClient, type RuntimeStats, startInferenceRuntime } from "../../edge/index.ts";
import { captureOptionsFrom } from "../../edge/main.ts";
import { MODEL_FILE } from "../../edge/model-store.ts";
import { INFERENCE_COMPONENT_NAME } from "../../edge/recipe.ts";
import { envName, readSettings, type SettingKey, settingKeys } from "../../edge/settings.ts";
import type { ComponentHost, InstalledSet, RunningComponents } from "./device.ts";
import { builtInComponents, type ResolvedComponent } from "./resolve.ts";

/** A model component's artifacts hold no model the runtime can load. */
export class ModelNotFoundInComponentError extends Error {
  constructor(component: string, folder: string) {
    super(`${component}: no ${MODEL_FILE} under ${folder}`);
    this.name = "ModelNotFoundInComponentError";
  }
}

export interface InferenceHostOptions {
  thingName: string;
  /** S3 client for capture uploads (credentials from the token exchange). */
  s3: S3Client;
  /** Folder for the runtime's own files (unpacked models). */
  workPath: string;
  inferenceComponentName?: string;
  log?: (line: string) => void;
}

/** A model served by the device's runtime now. */
export interface ServedModel {
  name: string;
  version: string;
  component: string;
  componentVersion: string;
}

async function findModelFolder(folder: string): Promise<string | undefined> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  if (entries.some((e) => e.isFile() && e.name === MODEL_FILE)) return folder;
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const found = await findModelFolder(join(folder, e.name));
    if (found) return found;
  }
  return undefined;
}

/**
 * Runs the real inference component (edge/) for one simulated device, in this process: its
 * configuration reaches `readSettings` as the EDGE_* variables the recipe's Setenv would set;
 * every model component that depends on it is then loaded over the component's socket, as the
 * model component's startup would. The socket is a loopback TCP port so devices do not share
 * the recipe's default socket path.
 */
export class InferenceHost implements ComponentHost {
  private runtime: Awaited<ReturnType<typeof startInferenceRuntime>> | undefined;
  private client: InferenceClient | undefined;
  private served: ServedModel[] = [];

  constructor(private readonly options: InferenceHostOptions) {}

  get runtimeName(): string {
    return this.options.inferenceComponentName ?? INFERENCE_COMPONENT_NAME;
  }

  async start(set: InstalledSet): Promise<RunningComponents> {
    const runtimeComponent = set.components.find((c) => c.name === this.runtimeName);
    const builtIns = set.components.filter((c) => builtInComponents.has(c.name)).map((c) => c.name);
    if (!runtimeComponent) return { running: builtIns, close: async () => {} };
    const settings = readSettings({}, this.environment(runtimeComponent));
    const capture = captureOptionsFrom(settings);
    const running = await startInferenceRuntime({
      port: 0,
      modelUnpackRoot: join(this.options.workPath, "models"),
      capture: capture ? { ...capture, s3: this.options.s3 } : false,
      ...(this.options.log
        ? { log: (m: string) => this.options.log?.(`${this.options.thingName}: ${m}`) }
        : {}),
    });
    const client = await InferenceClient.connect(running.address);
    const served: ServedModel[] = [];
    try {
      for (const model of set.components.filter((c) => c.recipe.ComponentDependencies?.[this.runtimeName])) {
        served.push(await this.loadModel(client, model));
      }
    } catch (error) {
      await client.close();
      await running.close(1_000);
      throw error;
    }
    this.runtime = running;
    this.client = client;
    this.served = served;
    return {
      running: [this.runtimeName, ...builtIns],
      close: async () => {
        if (this.runtime === running) {
          this.runtime = undefined;
          this.client = undefined;
          this.served = [];
        }
        await client.close();
        await running.close(5_000);
      },
    };
  }

  /** Models the runtime serves now. */
  models(): ServedModel[] {
    return this.served;
  }

  address(): string | undefined {
    return this.runtime?.address;
  }

  stats(): RuntimeStats | undefined {
    return this.runtime?.stats();
  }

  /** The connection the traffic generator uses (an application on the device would open its own). */
  connection(): InferenceClient | undefined {
    return this.client;
  }

  /**
   * Resolves once every captured record has been written (or given up), so analysis sees it all;
   * batches are written after CaptureDataPushPeriodSeconds at most.
   */
  async captureSettled(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = this.runtime?.stats().capture;
      if (!c) return;
      const accepted = c.offered - c.sampledOut - c.dropped;
      if (c.buffered === 0 && c.recordsWritten + c.recordsLost >= accepted) return;
      if (Date.now() > deadline)
        throw new Error(
          `${this.options.thingName}: capture not written after ${timeoutMs} ms (${JSON.stringify(c)})`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private environment(component: ResolvedComponent): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { AWS_IOT_THING_NAME: this.options.thingName };
    for (const key of settingKeys) {
      const value = component.configuration[key];
      if (value !== undefined && value !== null) env[envName(key as SettingKey)] = String(value);
    }
    // One process hosts many devices: each runtime gets a loopback port instead of the shared default socket.
    env[envName("SocketPath")] = "";
    env[envName("Port")] = "0";
    return env;
  }

  private async loadModel(
    client: InferenceClient,
    component: ResolvedComponent & { decompressedPath: string },
  ): Promise<ServedModel> {
    const folder = await findModelFolder(component.decompressedPath);
    if (!folder || !(await stat(join(folder, MODEL_FILE)).catch(() => undefined))) {
      throw new ModelNotFoundInComponentError(
        `${component.name}@${component.version}`,
        component.decompressedPath,
      );
    }
    const name = String(component.configuration.ModelName ?? component.name);
    const version = String(component.configuration.ModelVersion ?? component.version);
    await client.load(name, folder, { version });
    return { name, version, component: component.name, componentVersion: component.version };
  }
}
