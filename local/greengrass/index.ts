import { type LocalContext, type ServiceFactory, validation } from "../server/types.ts";
import { greengrassService } from "./service.ts";
import { GreengrassStore } from "./store.ts";

export type { PendingDeployment } from "./store.ts";
export { GreengrassStore } from "./store.ts";

/** Stores of the endpoints started in this process, by endpoint URL (tests start several). */
const stores = new Map<string, GreengrassStore>();

/**
 * The Greengrass store of a started endpoint, for in-process devices (see the API at the top of store.ts).
 * @example const gg = greengrassStoreOf(endpoint.url); gg.registerCoreDevice("core-1", ["canary"]);
 */
export function greengrassStoreOf(endpointUrl: string): GreengrassStore {
  const store = stores.get(endpointUrl);
  if (!store) throw new Error(`no Greengrass service runs at ${endpointUrl} in this process`);
  return store;
}

/** Greengrass V2 over restJson1, on the endpoint's S3 (artifact checks) and IoT jobs (deployments). */
export const createService: ServiceFactory = (ctx: LocalContext) => {
  if (!ctx.objects || !ctx.iotJobs)
    throw validation("the Greengrass service needs the endpoint's S3 object store and IoT jobs store");
  const store = new GreengrassStore({
    clock: ctx.clock,
    region: ctx.region,
    accountId: ctx.accountId,
    stateDir: ctx.stateDir,
    objects: ctx.objects,
    jobs: ctx.iotJobs,
  });
  if (ctx.endpointUrl) stores.set(ctx.endpointUrl, store);
  const handler = greengrassService(store);
  return {
    ...handler,
    async close() {
      await handler.close?.();
      if (ctx.endpointUrl) stores.delete(ctx.endpointUrl);
    },
  };
};
