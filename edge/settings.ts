import { hostname } from "node:os";
import { defaultCaptureSettings } from "./capture.ts";

/*
 * The component's configuration keys: the recipe's DefaultConfiguration, the environment
 * variables the recipe's Setenv maps them to (EDGE_<SNAKE_CASE>), and the command-line flags
 * (--kebab-case) all come from this one table. Capture keys keep Edge Manager's names.
 */
type Kind = "string" | "number" | "boolean";
interface SettingSpec {
  kind: Kind;
  default: string | number | boolean;
  doc: string;
}

export const settingSpecs = {
  SocketPath: { kind: "string", default: "", doc: "Unix socket to serve on; empty serves on 127.0.0.1:Port" },
  Port: { kind: "number", default: 0, doc: "TCP port on 127.0.0.1 when SocketPath is empty (0 picks one)" },
  ModelPath: {
    kind: "string",
    default: "",
    doc: "Model to load at start: an .onnx file or a folder with model.onnx",
  },
  ModelName: { kind: "string", default: "", doc: "Name the model at ModelPath is served under" },
  ModelVersion: {
    kind: "string",
    default: "",
    doc: "Version recorded in capture for the model at ModelPath",
  },
  DeviceFleetName: { kind: "string", default: "default", doc: "Fleet name in capture keys and records" },
  DeviceId: {
    kind: "string",
    default: "",
    doc: "Device id in capture; empty uses AWS_IOT_THING_NAME, then the host name",
  },
  CaptureData: { kind: "boolean", default: true, doc: "Capture inputs and outputs of predictions" },
  CaptureDataDestination: {
    kind: "string",
    default: "Cloud",
    doc: "Cloud (S3 bucket BucketName) or Disk (CaptureDataDiskPath)",
  },
  BucketName: { kind: "string", default: "", doc: "S3 bucket for capture when the destination is Cloud" },
  FolderPrefix: {
    kind: "string",
    default: defaultCaptureSettings.folderPrefix,
    doc: "First part of every capture key",
  },
  CaptureDataDiskPath: {
    kind: "string",
    default: "capture",
    doc: "Folder for capture when the destination is Disk",
  },
  CaptureDataSamplingPercentage: {
    kind: "number",
    default: defaultCaptureSettings.samplingPercentage,
    doc: "Share of predictions captured, 0-100",
  },
  CaptureDataBufferSize: {
    kind: "number",
    default: defaultCaptureSettings.bufferSize,
    doc: "Records buffered before new ones are dropped",
  },
  CaptureDataBatchSize: {
    kind: "number",
    default: defaultCaptureSettings.batchSize,
    doc: "Records per capture file",
  },
  CaptureDataPushPeriodSeconds: {
    kind: "number",
    default: defaultCaptureSettings.pushPeriodSeconds,
    doc: "Seconds after which a partial batch is written",
  },
  CaptureDataBase64EmbedLimit: {
    kind: "number",
    default: defaultCaptureSettings.base64EmbedLimit,
    doc: "Largest tensor (bytes) embedded in a record; larger ones are written beside it",
  },
  CaptureDataUploadMaxAttempts: {
    kind: "number",
    default: defaultCaptureSettings.maxUploadAttempts,
    doc: "Write attempts per batch before it is given up",
  },
  CaptureDataPeriodicUpload: {
    kind: "boolean",
    default: false,
    doc: "Spool capture under CaptureDataDiskPath and upload it every CaptureDataPeriodicUploadPeriodSeconds (Cloud only)",
  },
  CaptureDataPeriodicUploadPeriodSeconds: {
    kind: "number",
    default: 8,
    doc: "Seconds between uploads of spooled capture",
  },
  ShutdownTimeoutSeconds: {
    kind: "number",
    default: 10,
    doc: "Time allowed to write buffered capture on SIGTERM",
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof settingSpecs;
export type Settings = {
  -readonly [K in SettingKey]: (typeof settingSpecs)[K]["default"] extends number
    ? number
    : (typeof settingSpecs)[K]["default"] extends boolean
      ? boolean
      : string;
};

export const settingKeys = Object.keys(settingSpecs) as SettingKey[];

/** "CaptureDataBufferSize" → "EDGE_CAPTURE_DATA_BUFFER_SIZE" */
export function envName(key: SettingKey): string {
  return `EDGE_${key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}`;
}

/** "CaptureDataBufferSize" → "capture-data-buffer-size" */
export function flagName(key: SettingKey): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

/**
 * Settings from flags over environment over defaults. Greengrass interpolates an unset
 * configuration value as an empty string, so empty means "not set".
 */
export function readSettings(
  flags: Partial<Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): Settings {
  const settings = {} as Record<SettingKey, string | number | boolean>;
  for (const key of settingKeys) {
    const spec: SettingSpec = settingSpecs[key];
    const raw = flags[flagName(key)] ?? env[envName(key)];
    settings[key] = raw === undefined || raw === "" ? spec.default : convert(key, spec.kind, raw);
  }
  const result = settings as Settings;
  if (result.CaptureDataDestination !== "Cloud" && result.CaptureDataDestination !== "Disk") {
    throw new SettingsError(
      `CaptureDataDestination must be Cloud or Disk, got ${result.CaptureDataDestination}`,
    );
  }
  if (result.CaptureData && result.CaptureDataDestination === "Cloud" && result.BucketName === "") {
    throw new SettingsError(
      `capture to Cloud needs BucketName (${envName("BucketName")} or --${flagName("BucketName")})`,
    );
  }
  if (result.ModelPath !== "" && result.ModelName === "") {
    throw new SettingsError(
      `ModelPath is set but ModelName is not (${envName("ModelName")} or --${flagName("ModelName")})`,
    );
  }
  result.DeviceId ||= env.AWS_IOT_THING_NAME || hostname();
  return result;
}

function convert(key: SettingKey, kind: Kind, raw: string): string | number | boolean {
  if (kind === "string") return raw;
  if (kind === "boolean") {
    if (raw === "true" || raw === "false") return raw === "true";
    throw new SettingsError(`${key} must be true or false, got ${JSON.stringify(raw)}`);
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new SettingsError(`${key} must be a number, got ${JSON.stringify(raw)}`);
  return n;
}
