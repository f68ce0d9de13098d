import semver from "semver";
import type { ComponentRecipe, DeploymentDocument } from "./types.ts";

/** A deployment cannot be resolved into one consistent component set; the device reports it FAILED. */
export class ComponentResolutionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ComponentResolutionError";
  }
}

export interface ResolvedComponent {
  name: string;
  version: string;
  recipe: ComponentRecipe;
  /** Named by a deployment (rather than pulled in as a dependency). */
  isRoot: boolean;
  /** DefaultConfiguration with the deployment's configurationUpdate (reset, then merge) applied. */
  configuration: Record<string, unknown>;
}

/** Components the nucleus itself provides: never downloaded, always at the nucleus version. */
export const NUCLEUS_VERSION = "2.14.0";
export const builtInComponents: ReadonlyMap<string, string> = new Map([
  ["aws.greengrass.Nucleus", NUCLEUS_VERSION],
  ["aws.greengrass.TokenExchangeService", NUCLEUS_VERSION],
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function deepMerge(base: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(update)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** Configuration is rebuilt from the defaults on every deployment, so `reset` needs no work and `merge` lands on top. */
export function effectiveConfiguration(
  recipe: ComponentRecipe,
  update: { merge?: string; reset?: string[] } | undefined,
): Record<string, unknown> {
  const defaults = structuredClone(recipe.ComponentConfiguration?.DefaultConfiguration ?? {});
  if (!update?.merge) return defaults;
  let merge: unknown;
  try {
    merge = JSON.parse(update.merge);
  } catch (error) {
    throw new ComponentResolutionError(`${recipe.ComponentName}: configurationUpdate.merge is not JSON`, {
      cause: error,
    });
  }
  if (!isObject(merge))
    throw new ComponentResolutionError(
      `${recipe.ComponentName}: configurationUpdate.merge must be a JSON object`,
    );
  return deepMerge(defaults, merge);
}

export interface RecipeSource {
  getRecipe(name: string, version: string): Promise<ComponentRecipe>;
  listVersions(name: string): Promise<string[]>;
}

/**
 * Merges the latest deployment of every target the device belongs to and resolves
 * dependencies the way the nucleus does: root versions are pinned by the deployments, every
 * other component gets the installed version when it still satisfies all requirements, else
 * the highest published version that does.
 * @example const set = await resolveComponentSet(deployments, cloud, new Map([["com.x.Runtime", "1.0.0"]]));
 */
export async function resolveComponentSet(
  deployments: DeploymentDocument[],
  recipes: RecipeSource,
  installed: ReadonlyMap<string, string> = new Map(),
): Promise<ResolvedComponent[]> {
  const roots = new Map<
    string,
    { version: string; targetArn: string; update?: { merge?: string; reset?: string[] } }
  >();
  for (const deployment of deployments) {
    for (const [name, entry] of Object.entries(deployment.components)) {
      const existing = roots.get(name);
      if (existing && existing.version !== entry.componentVersion) {
        throw new ComponentResolutionError(
          `${name} is deployed as ${existing.version} by ${existing.targetArn} and as ${entry.componentVersion} by ${deployment.targetArn}`,
        );
      }
      roots.set(name, {
        version: entry.componentVersion,
        targetArn: deployment.targetArn,
        ...(entry.configurationUpdate ? { update: entry.configurationUpdate } : {}),
      });
    }
  }

  const chosen = new Map<string, string>();
  for (const [name, { version }] of roots) chosen.set(name, version);

  // Requirements depend on the chosen versions' recipes, so iterate to a fixed point; a
  // component graph deeper than this is a cycle or a bug in a recipe.
  for (let round = 0; round < 20; round++) {
    const requirements = new Map<string, Array<{ range: string; by: string }>>();
    for (const [name, version] of chosen) {
      if (builtInComponents.has(name)) continue;
      const recipe = await recipes.getRecipe(name, version);
      for (const [dep, spec] of Object.entries(recipe.ComponentDependencies ?? {})) {
        if (spec.DependencyType === "SOFT" && !chosen.has(dep) && !installed.has(dep)) continue;
        const list = requirements.get(dep) ?? [];
        list.push({ range: spec.VersionRequirement ?? "*", by: `${name}@${version}` });
        requirements.set(dep, list);
      }
    }
    let changed = false;
    for (const [dep, reqs] of requirements) {
      const satisfiesAll = (v: string) =>
        reqs.every((r) => semver.satisfies(v, r.range, { includePrerelease: true }));
      const root = roots.get(dep);
      if (root) {
        const broken = reqs.find(
          (r) => !semver.satisfies(root.version, r.range, { includePrerelease: true }),
        );
        if (broken)
          throw new ComponentResolutionError(
            `${dep}@${root.version} does not satisfy ${broken.range} required by ${broken.by}`,
          );
        continue;
      }
      const builtIn = builtInComponents.get(dep);
      if (builtIn) {
        const broken = reqs.find((r) => !semver.satisfies(builtIn, r.range, { includePrerelease: true }));
        if (broken)
          throw new ComponentResolutionError(
            `${dep}@${builtIn} (nucleus) does not satisfy ${broken.range} required by ${broken.by}`,
          );
        if (!chosen.has(dep)) {
          chosen.set(dep, builtIn);
          changed = true;
        }
        continue;
      }
      const current = chosen.get(dep);
      if (current && satisfiesAll(current)) continue;
      const local = installed.get(dep);
      let pick = local && satisfiesAll(local) ? local : undefined;
      if (!pick) {
        const versions = (await recipes.listVersions(dep)).filter((v) => semver.valid(v) && satisfiesAll(v));
        pick = semver.rsort(versions)[0];
      }
      if (!pick) {
        const wanted = reqs.map((r) => `${r.range} (by ${r.by})`).join(", ");
        throw new ComponentResolutionError(`no version of ${dep} satisfies ${wanted}`);
      }
      chosen.set(dep, pick);
      changed = true;
    }
    if (!changed) {
      const out: ResolvedComponent[] = [];
      for (const [name, version] of chosen) {
        const recipe: ComponentRecipe = builtInComponents.has(name)
          ? {
              RecipeFormatVersion: "2020-01-25",
              ComponentName: name,
              ComponentVersion: version,
              Manifests: [],
            }
          : await recipes.getRecipe(name, version);
        const root = roots.get(name);
        out.push({
          name,
          version,
          recipe,
          isRoot: Boolean(root),
          configuration: effectiveConfiguration(recipe, root?.update),
        });
      }
      return out;
    }
  }
  throw new ComponentResolutionError(
    "component dependencies did not settle; check for cycles in the recipes",
  );
}
