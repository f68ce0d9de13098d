import { createHash } from "node:crypto";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Joins parts into a name of at most `max` characters from `allowed` characters; a name that would be
 * longer keeps its head and gets 8 hex characters of the full name's hash, so it stays deterministic
 * and distinct.
 */
function boundedName(parts: (string | number)[], max: number, invalid: RegExp): string {
  const full = parts
    .map((p) => String(p).replace(invalid, "-"))
    .join("-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (full.length <= max) return full;
  const head = full.slice(0, max - 9).replace(/-+$/, "");
  return `${head}-${sha(full).slice(0, 8)}`;
}

/**
 * SageMaker job name (compilation, edge packaging): `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`.
 * @example sageMakerJobName("my-group", 3, "linux-arm64") // "my-group-v3-linux-arm64"
 */
export function sageMakerJobName(group: string, version: number, target: string, suffix?: string): string {
  return boundedName([group, `v${version}`, target, ...(suffix ? [suffix] : [])], 63, /[^a-zA-Z0-9-]/g);
}

/** Step Functions execution name: 1–80 of letters, digits, `-` and `_`. */
export function executionName(group: string, version: number, date?: string): string {
  return boundedName([group, `v${version}`, ...(date ? [date] : [])], 80, /[^a-zA-Z0-9_-]/g);
}

/** Greengrass client token: `[a-zA-Z0-9-]{1,64}`, stable for one (execution, stage, purpose). */
export function clientToken(...parts: string[]): string {
  return sha(parts.join("\u0000")).slice(0, 64);
}

/** Component version for a model package version; Greengrass needs semver. */
export function componentVersionFor(modelPackageVersion: number): string {
  return `1.0.${modelPackageVersion}`;
}

/** Parses `arn:…:model-package/<group>/<version>`. */
export function parseModelPackageArn(arn: string): { group: string; version: number } | undefined {
  const match =
    /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})\/(\d+)$/.exec(
      arn,
    );
  if (!match) return undefined;
  return { group: match[1] as string, version: Number(match[2]) };
}
