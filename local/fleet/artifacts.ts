import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { x as untar } from "tar";
import type { ComponentRecipe } from "./types.ts";

/** An artifact could not be fetched, did not match its recipe digest, or could not be unpacked. */
export class ArtifactError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ArtifactError";
  }
}

export interface InstalledArtifacts {
  /** `packages/artifacts/<name>/<version>`: files as downloaded. */
  artifactsPath: string;
  /** `packages/artifacts-unarchived/<name>/<version>`: tarballs unpacked, one folder per archive. */
  decompressedPath: string;
  files: string[];
}

const parseS3Uri = (uri: string) => {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2]) throw new ArtifactError(`artifact URI ${uri} is not an s3:// URI`);
  return { bucket: match[1], key: match[2] };
};

/** Greengrass writes the digest base64-encoded; hex is accepted too for hand-written recipes. */
const digestMatches = (data: Buffer, expected: string) => {
  const hash = createHash("sha256").update(data).digest();
  return expected === hash.toString("base64") || expected.toLowerCase() === hash.toString("hex");
};

const isTarball = (file: string) => /\.(tar\.gz|tgz|tar)$/i.test(file);
const archiveFolder = (file: string) => file.replace(/\.(tar\.gz|tgz|tar)$/i, "");

/**
 * Downloads every artifact of a recipe into the device's package store, checks each against
 * the recipe's SHA-256 digest, and unpacks tarballs (what a model component's install step does).
 * @example const { decompressedPath } = await installArtifacts(recipe, s3, "/tmp/dev-1");
 */
export interface DevicePlatform {
  os: string;
  architecture: string;
}

/** The simulated devices are what this machine is, as the nucleus reports it. */
export const hostPlatform: DevicePlatform = {
  os: process.platform === "win32" ? "windows" : process.platform,
  architecture: process.arch === "x64" ? "amd64" : process.arch === "arm64" ? "aarch64" : process.arch,
};

/** The nucleus uses the first manifest whose platform matches (missing or "*" attributes match anything). */
export function selectManifest(recipe: ComponentRecipe, platform: DevicePlatform = hostPlatform) {
  const manifests = recipe.Manifests ?? [];
  if (manifests.length === 0) return undefined;
  const fits = (wanted: string | undefined, have: string) =>
    wanted === undefined || wanted === "*" || wanted === "all" || wanted === have;
  const match = manifests.find(
    (m) => fits(m.Platform?.os, platform.os) && fits(m.Platform?.architecture, platform.architecture),
  );
  if (!match) {
    throw new ArtifactError(
      `${recipe.ComponentName}@${recipe.ComponentVersion} has no manifest for ${platform.os}/${platform.architecture}`,
    );
  }
  return match;
}

export async function installArtifacts(
  recipe: ComponentRecipe,
  s3: S3Client,
  rootPath: string,
  platform: DevicePlatform = hostPlatform,
): Promise<InstalledArtifacts> {
  const name = recipe.ComponentName;
  const version = recipe.ComponentVersion;
  const artifactsPath = join(rootPath, "packages", "artifacts", name, version);
  const decompressedPath = join(rootPath, "packages", "artifacts-unarchived", name, version);
  await mkdir(artifactsPath, { recursive: true });
  await mkdir(decompressedPath, { recursive: true });
  const files: string[] = [];
  const artifacts = selectManifest(recipe, platform)?.Artifacts ?? [];
  for (const artifact of artifacts) {
    const { bucket, key } = parseS3Uri(artifact.Uri);
    let data: Buffer;
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      data = Buffer.from((await res.Body?.transformToByteArray()) ?? new Uint8Array());
    } catch (error) {
      throw new ArtifactError(
        `${name}@${version}: could not download ${artifact.Uri}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (
      artifact.Digest &&
      (artifact.Algorithm ?? "SHA-256").toUpperCase() === "SHA-256" &&
      !digestMatches(data, artifact.Digest)
    ) {
      throw new ArtifactError(
        `${name}@${version}: ${artifact.Uri} does not match its recipe digest (SHA-256)`,
      );
    }
    const file = join(artifactsPath, basename(key));
    await writeFile(file, data);
    files.push(file);
    if (isTarball(file)) {
      const target = join(decompressedPath, archiveFolder(basename(key)));
      await rm(target, { recursive: true, force: true });
      await mkdir(target, { recursive: true });
      try {
        await untar({ file, cwd: target, strict: true });
      } catch (error) {
        throw new ArtifactError(
          `${name}@${version}: could not unpack ${basename(key)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  }
  return { artifactsPath, decompressedPath, files };
}
