import { stringify as toYaml } from "yaml";
import { AwsError, type LocalRequest, type LocalResponse, type ServiceHandler } from "../server/types.ts";
import type { ComponentVersionRecord, CoreDeviceRecord, DeploymentRecord, GreengrassStore } from "./store.ts";

/** restJson1 timestamps are epoch seconds. */
const epoch = (iso: string) => new Date(iso).getTime() / 1000;

type Route = {
  method: string;
  pattern: RegExp;
  op: (req: LocalRequest, params: string[]) => Promise<LocalResponse> | LocalResponse;
};

/** Pages a list with an opaque offset token, as Greengrass's nextToken/maxResults do. */
function page<T>(items: T[], query: URLSearchParams, max = 100): { items: T[]; nextToken?: string } {
  const size = Number(query.get("maxResults") ?? 50);
  if (!Number.isInteger(size) || size < 1 || size > max)
    throw new AwsError("ValidationException", `maxResults must be between 1 and ${max}`, 400);
  const token = query.get("nextToken");
  const start = token ? Number(Buffer.from(token, "base64url").toString("utf8")) : 0;
  if (!Number.isInteger(start) || start < 0)
    throw new AwsError("ValidationException", "nextToken is not valid", 400);
  const end = start + size;
  return end < items.length
    ? { items: items.slice(start, end), nextToken: Buffer.from(String(end)).toString("base64url") }
    : { items: items.slice(start) };
}

function json(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body))
    throw new AwsError("SerializationException", "request body must be a JSON object", 400);
  return body as Record<string, unknown>;
}

function parseBody(req: LocalRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    return json(JSON.parse(req.body.toString("utf8")));
  } catch (err) {
    if (err instanceof AwsError) throw err;
    throw new AwsError("SerializationException", "request body is not valid JSON", 400);
  }
}

/** Greengrass V2 over restJson1 (`/greengrass/v2/...`), answering the SDK's GreengrassV2Client. */
export function greengrassService(store: GreengrassStore): ServiceHandler {
  const describeVersion = (c: ComponentVersionRecord) => ({
    arn: c.arn,
    componentName: c.componentName,
    componentVersion: c.componentVersion,
    creationTimestamp: epoch(c.creationTimestamp),
    publisher: c.publisher,
    description: c.description,
    status: c.status,
    platforms: store.platformsOf(c),
    tags: c.tags,
  });
  const deploymentSummary = (d: DeploymentRecord) => ({
    targetArn: d.targetArn,
    revisionId: d.revisionId,
    deploymentId: d.deploymentId,
    deploymentName: d.deploymentName,
    creationTimestamp: epoch(d.creationTimestamp),
    deploymentStatus: d.deploymentStatus,
    isLatestForTarget: d.isLatestForTarget,
    ...(d.parentTargetArn ? { parentTargetArn: d.parentTargetArn } : {}),
  });
  const coreDeviceSummary = (c: CoreDeviceRecord) => ({
    coreDeviceThingName: c.coreDeviceThingName,
    status: c.status,
    lastStatusUpdateTimestamp: epoch(c.lastStatusUpdateTimestamp),
    platform: c.platform,
    architecture: c.architecture,
    runtime: c.runtime,
  });

  const routes: Route[] = [
    {
      method: "POST",
      pattern: /^\/greengrass\/v2\/createComponentVersion$/,
      op: (req) => {
        const body = parseBody(req);
        const c = store.createComponentVersion({
          inlineRecipe: body.inlineRecipe as string | undefined,
          lambdaFunction: body.lambdaFunction,
          tags: body.tags as Record<string, string> | undefined,
          clientToken: body.clientToken as string | undefined,
        });
        return {
          status: 201,
          body: {
            arn: c.arn,
            componentName: c.componentName,
            componentVersion: c.componentVersion,
            creationTimestamp: epoch(c.creationTimestamp),
            status: c.status,
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/components\/([^/]+)\/metadata$/,
      op: (_req, [arn]) => ({ status: 200, body: describeVersion(store.getComponentVersion(arn as string)) }),
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/components\/([^/]+)\/versions$/,
      op: (req, [arn]) => {
        const p = page(store.versionsOf(arn as string), req.query);
        return {
          status: 200,
          body: {
            componentVersions: p.items.map((c) => ({
              componentName: c.componentName,
              componentVersion: c.componentVersion,
              arn: c.arn,
            })),
            nextToken: p.nextToken,
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/components\/([^/]+)$/,
      op: (req, [arn]) => {
        const c = store.getComponentVersion(arn as string);
        const format = req.query.get("recipeOutputFormat") ?? "JSON";
        if (format !== "JSON" && format !== "YAML")
          throw new AwsError("ValidationException", "recipeOutputFormat must be JSON or YAML", 400);
        // The recipe comes back as submitted when the format matches, else converted from the parsed form.
        const submitted = Buffer.from(c.recipe, "base64");
        const isJson = submitted.toString("utf8").trimStart().startsWith("{");
        const recipe =
          (format === "JSON") === isJson
            ? submitted
            : Buffer.from(format === "JSON" ? JSON.stringify(c.parsed) : toYaml(c.parsed));
        return {
          status: 200,
          body: { recipeOutputFormat: format, recipe: recipe.toString("base64"), tags: c.tags },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/components$/,
      op: (req) => {
        const scope = req.query.get("scope") ?? "PRIVATE";
        // Only this account's components exist locally; PUBLIC (AWS-provided) lists nothing.
        const all = scope === "PUBLIC" ? [] : store.listComponents();
        const p = page(all, req.query);
        return {
          status: 200,
          body: {
            components: p.items.map((c) => ({
              arn: c.arn,
              componentName: c.componentName,
              latestVersion: {
                arn: c.latest.arn,
                componentVersion: c.latest.componentVersion,
                creationTimestamp: epoch(c.latest.creationTimestamp),
                description: c.latest.description,
                publisher: c.latest.publisher,
                platforms: store.platformsOf(c.latest),
              },
            })),
            nextToken: p.nextToken,
          },
        };
      },
    },
    {
      method: "POST",
      pattern: /^\/greengrass\/v2\/deployments$/,
      op: async (req) => {
        const body = parseBody(req);
        const d = await store.createDeployment(body as Parameters<GreengrassStore["createDeployment"]>[0]);
        return {
          status: 201,
          body: { deploymentId: d.deploymentId, iotJobId: d.iotJobId, iotJobArn: d.iotJobArn },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/deployments$/,
      op: (req) => {
        const list = store.listDeployments({
          targetArn: req.query.get("targetArn") ?? undefined,
          historyFilter: req.query.get("historyFilter") ?? undefined,
          parentTargetArn: req.query.get("parentTargetArn") ?? undefined,
        });
        const p = page(list, req.query);
        return { status: 200, body: { deployments: p.items.map(deploymentSummary), nextToken: p.nextToken } };
      },
    },
    {
      method: "POST",
      pattern: /^\/greengrass\/v2\/deployments\/([^/]+)\/cancel$/,
      op: async (_req, [id]) => ({
        status: 200,
        body: { message: await store.cancelDeployment(id as string) },
      }),
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/deployments\/([^/]+)$/,
      op: (_req, [id]) => {
        const d = store.getDeployment(id as string);
        return {
          status: 200,
          body: {
            ...deploymentSummary(d),
            iotJobId: d.iotJobId,
            iotJobArn: d.iotJobArn,
            components: d.components,
            deploymentPolicies: d.deploymentPolicies,
            iotJobConfiguration: d.iotJobConfiguration,
            tags: d.tags,
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/coreDevices$/,
      op: (req) => {
        const list = store.listCoreDevices({
          thingGroupArn: req.query.get("thingGroupArn") ?? undefined,
          status: req.query.get("status") ?? undefined,
          runtime: req.query.get("runtime") ?? undefined,
        });
        const p = page(list, req.query);
        return { status: 200, body: { coreDevices: p.items.map(coreDeviceSummary), nextToken: p.nextToken } };
      },
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/coreDevices\/([^/]+)\/effectiveDeployments$/,
      op: (req, [thing]) => {
        const p = page(store.effectiveDeployments(thing as string), req.query);
        return {
          status: 200,
          body: {
            effectiveDeployments: p.items.map((e) => ({
              deploymentId: e.deploymentId,
              deploymentName: e.deployment.deploymentName,
              iotJobId: e.deployment.iotJobId,
              iotJobArn: e.deployment.iotJobArn,
              targetArn: e.deployment.targetArn,
              coreDeviceExecutionStatus: e.status,
              reason: e.reason,
              creationTimestamp: epoch(e.creationTimestamp),
              modifiedTimestamp: epoch(e.modifiedTimestamp),
            })),
            nextToken: p.nextToken,
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/coreDevices\/([^/]+)\/installedComponents$/,
      op: (req, [thing]) => {
        const device = store.getCoreDevice(thing as string);
        const filter = req.query.get("topologyFilter") ?? "ROOT";
        const list = device.installed.filter((c) => filter === "ALL" || c.isRoot);
        const p = page(list, req.query);
        return {
          status: 200,
          body: {
            installedComponents: p.items.map((c) => ({
              ...c,
              lastStatusChangeTimestamp: epoch(c.lastStatusChangeTimestamp),
              lastReportedTimestamp: epoch(c.lastReportedTimestamp),
            })),
            nextToken: p.nextToken,
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/greengrass\/v2\/coreDevices\/([^/]+)$/,
      op: (_req, [thing]) => {
        const c = store.getCoreDevice(thing as string);
        return { status: 200, body: { ...coreDeviceSummary(c), coreVersion: c.coreVersion, tags: {} } };
      },
    },
  ];

  return {
    services: ["greengrass"],
    protocol: "restJson1",
    async handle(req) {
      for (const route of routes) {
        if (route.method !== req.method) continue;
        const m = route.pattern.exec(req.path);
        if (!m) continue;
        return route.op(
          req,
          m.slice(1).map((s) => decodeURIComponent(s)),
        );
      }
      throw new AwsError(
        "UnknownOperationException",
        `${req.method} ${req.path} is not a Greengrass V2 operation the local endpoint serves`,
        404,
      );
    },
    async flush() {
      store.flush();
    },
    async close() {
      await store.idle();
      store.flush();
    },
  };
}
