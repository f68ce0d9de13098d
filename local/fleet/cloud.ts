import type { GreengrassStore } from "../greengrass/store.ts";
import type {
  ComponentRecipe,
  DeploymentDocument,
  EffectiveDeploymentStatus,
  FailureHandlingPolicy,
  InstalledComponent,
  NucleusCloud,
} from "./types.ts";

/** Registers a thing and its thing group memberships in the IoT registry (the fleet's job, as provisioning is on AWS). */
export interface ThingRegistry {
  registerThing(thingName: string, thingGroupNames: string[]): Promise<void>;
}

const policyOf = (policies: Record<string, unknown> | undefined): FailureHandlingPolicy =>
  // Greengrass defaults to ROLLBACK when a deployment does not say.
  policies?.failureHandlingPolicy === "DO_NOTHING" ? "DO_NOTHING" : "ROLLBACK";

/**
 * The nucleus' view of the local endpoint: deployments, recipes and reports go straight to the
 * in-process Greengrass store (what the Greengrass data plane and IoT jobs over MQTT do on AWS),
 * things to the IoT registry. Recipes are immutable per version, so they are cached for the fleet.
 * @example const cloud = storeCloud(store, iotRegistry);
 */
export function storeCloud(store: GreengrassStore, things: ThingRegistry): NucleusCloud {
  const recipes = new Map<string, ComponentRecipe>();
  return {
    async registerDevice(thingName, thingGroupNames) {
      await things.registerThing(thingName, thingGroupNames);
      store.registerCoreDevice(thingName, thingGroupNames);
    },
    async deploymentsFor(thingName): Promise<DeploymentDocument[]> {
      return store.latestDeploymentsFor(thingName).map((d) => ({
        deploymentId: d.deploymentId,
        targetArn: d.targetArn,
        iotJobId: d.iotJobId,
        components: d.components,
        failureHandlingPolicy: policyOf(d.deploymentPolicies),
        createdAt: d.creationTimestamp.getTime(),
      }));
    },
    async getRecipe(name, version) {
      const key = `${name}@${version}`;
      let recipe = recipes.get(key);
      if (!recipe) {
        recipe = store.componentRecipe(name, version) as ComponentRecipe;
        recipes.set(key, recipe);
      }
      return recipe;
    },
    async listVersions(name) {
      return store.deployableVersions(name);
    },
    async reportDeployment(thingName, deployment, status: EffectiveDeploymentStatus, reason) {
      await store.reportEffectiveDeployment(thingName, deployment.deploymentId, status, reason);
    },
    async reportInstalledComponents(thingName, components: InstalledComponent[]) {
      store.reportInstalledComponents(thingName, components);
    },
  };
}
