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
  const roots = new Map<string, { version: string; targetArn: string }>();
  for (const deployment of deployments) {
    for (const [name, entry] of Object.entries(deployment.components)) {
      const existing = roots.get(name);
      if (existing && existing.version !== entry.componentVersion) {
        throw new ComponentResolutionError(
          `${name} is deployed as ${existing.version} by ${existing.targetArn} and as ${entry.componentVersion} by ${deployment.targetArn}`,
        );
      }
      roots.set(name, { version: entry.componentVersion, targetArn: deployment.targetArn });
    }
  }

  const chosen = new Map<string, string>();
  for (const [name, { version }] of roots) chosen.set(name, version);

  // Requirements depend on the chosen versions' recipes, so iterate to a fixed point; a
  // component graph deeper than this is a cycle or a bug in a recipe.
  for (let round = 0; round < 20; round++) {
    const requirements = new Map<string, Array<{ range: string; by: string }>>();
    for (const [name, version] of chosen) {
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
        out.push({ name, version, recipe: await recipes.getRecipe(name, version), isRoot: roots.has(name) });
      }
      return out;
    }
  }
  throw new ComponentResolutionError(
    "component dependencies did not settle; check for cycles in the recipes",
  );
}
