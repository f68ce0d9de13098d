import { parse as parseYaml } from "yaml";

/** A recipe the service refused; surfaces as a ValidationException naming the field. */
export class RecipeValidationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RecipeValidationError";
  }
}

export interface RecipeArtifact {
  Uri: string;
  Digest?: string;
  Algorithm?: string;
  Unarchive?: string;
}

export interface RecipeManifest {
  Platform?: Record<string, string>;
  Artifacts?: RecipeArtifact[];
  Lifecycle?: unknown;
  Name?: string;
}

/** The members of a Greengrass recipe this service reads; the rest is kept as written. */
export interface Recipe {
  RecipeFormatVersion: string;
  ComponentName: string;
  ComponentVersion: string;
  ComponentDescription?: string;
  ComponentPublisher?: string;
  ComponentDependencies?: Record<string, { VersionRequirement?: string; DependencyType?: string }>;
  Manifests: RecipeManifest[];
  [key: string]: unknown;
}

const FORMAT_VERSIONS = new Set(["2020-01-25"]);
// Semantic Versioning 2.0.0 (major.minor.patch with optional pre-release and build), as Greengrass requires.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
const COMPONENT_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const ARTIFACT_SCHEMES = /^(s3|docker|greengrass):\/\//;

export const isSemver = (v: string): boolean => v.length <= 64 && SEMVER.test(v);

/**
 * Parses an inline recipe (JSON or YAML bytes, as the API receives them after base64 decoding)
 * and checks what Greengrass checks before it accepts a component version.
 * @example const recipe = parseRecipe(Buffer.from(JSON.stringify({ RecipeFormatVersion: "2020-01-25", ... })));
 */
export function parseRecipe(bytes: Buffer): Recipe {
  const text = bytes.toString("utf8").trim();
  if (text === "") throw new RecipeValidationError("inlineRecipe is empty");
  let doc: unknown;
  try {
    doc = text.startsWith("{") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new RecipeValidationError(
      `inlineRecipe is neither valid JSON nor YAML: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    throw new RecipeValidationError("inlineRecipe must be a JSON or YAML object");
  const r = doc as Record<string, unknown>;
  const str = (key: string): string => {
    const v = r[key];
    if (typeof v !== "string" || v === "")
      throw new RecipeValidationError(`recipe field ${key} is required and must be a string`);
    return v;
  };
  const format = str("RecipeFormatVersion");
  if (!FORMAT_VERSIONS.has(format))
    throw new RecipeValidationError(`RecipeFormatVersion ${format} is not supported (use 2020-01-25)`);
  const name = str("ComponentName");
  if (!COMPONENT_NAME.test(name))
    throw new RecipeValidationError(`ComponentName ${name} must match [a-zA-Z0-9_.-]{1,128}`);
  if (name.startsWith("aws.greengrass."))
    throw new RecipeValidationError(`ComponentName ${name} uses the reserved prefix aws.greengrass.`);
  const version = str("ComponentVersion");
  if (!isSemver(version))
    throw new RecipeValidationError(
      `ComponentVersion ${version} is not a semantic version (major.minor.patch)`,
    );
  const manifests = r.Manifests ?? [];
  if (!Array.isArray(manifests)) throw new RecipeValidationError("Manifests must be a list");
  for (const [i, m] of manifests.entries()) validateManifest(m, i);
  const deps = r.ComponentDependencies;
  if (deps !== undefined && (deps === null || typeof deps !== "object" || Array.isArray(deps))) {
    throw new RecipeValidationError("ComponentDependencies must be a map of component name to requirement");
  }
  return { ...r, Manifests: manifests } as Recipe;
}

function validateManifest(m: unknown, i: number): void {
  if (m === null || typeof m !== "object" || Array.isArray(m))
    throw new RecipeValidationError(`Manifests[${i}] must be an object`);
  const manifest = m as Record<string, unknown>;
  if (
    manifest.Platform !== undefined &&
    (typeof manifest.Platform !== "object" || manifest.Platform === null)
  ) {
    throw new RecipeValidationError(`Manifests[${i}].Platform must be a map`);
  }
  const artifacts = manifest.Artifacts ?? [];
  if (!Array.isArray(artifacts)) throw new RecipeValidationError(`Manifests[${i}].Artifacts must be a list`);
  artifacts.forEach((a, j) => {
    const uri = (a as { Uri?: unknown } | null)?.Uri;
    if (typeof uri !== "string" || !ARTIFACT_SCHEMES.test(uri)) {
      throw new RecipeValidationError(
        `Manifests[${i}].Artifacts[${j}].Uri must be an s3://, docker:// or greengrass:// URI`,
      );
    }
    const algorithm = (a as { Algorithm?: unknown }).Algorithm;
    if (algorithm !== undefined && algorithm !== "SHA-256")
      throw new RecipeValidationError(`Manifests[${i}].Artifacts[${j}].Algorithm must be SHA-256`);
  });
}

/** Every s3:// artifact the recipe names, with where it was declared (for error messages). */
export function s3Artifacts(
  recipe: Recipe,
): Array<RecipeArtifact & { bucket: string; key: string; where: string }> {
  const out: Array<RecipeArtifact & { bucket: string; key: string; where: string }> = [];
  recipe.Manifests.forEach((m, i) => {
    (m.Artifacts ?? []).forEach((a, j) => {
      const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(a.Uri);
      if (!match) return;
      out.push({
        ...a,
        bucket: match[1] as string,
        key: match[2] as string,
        where: `Manifests[${i}].Artifacts[${j}]`,
      });
    });
  });
  return out;
}

/** Platforms as the API reports them (`componentPlatforms`): one per manifest that names one. */
export function recipePlatforms(
  recipe: Recipe,
): Array<{ name?: string; attributes: Record<string, string> }> {
  return recipe.Manifests.filter((m) => m.Platform).map((m) => {
    const attributes = Object.fromEntries(Object.entries(m.Platform ?? {}).map(([k, v]) => [k, String(v)]));
    return m.Name ? { name: m.Name, attributes } : { attributes };
  });
}
