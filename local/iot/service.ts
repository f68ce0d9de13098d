import {
  AwsError,
  type LocalContext,
  type LocalRequest,
  type LocalResponse,
  type ServiceHandler,
} from "../server/types.ts";
import { iotInvalid, iotNotFound, page } from "./errors.ts";
import { IotJobs } from "./jobs.ts";
import { type ThingGroupRecord, ThingRegistry } from "./things.ts";

type Json = Record<string, unknown>;
type Route = {
  method: string;
  pattern: RegExp;
  run: (req: LocalRequest, params: string[], body: Json) => unknown;
};

const toEpoch = (iso: string) => Date.parse(iso) / 1000;

/** AWS IoT over restJson1 (SigV4 service "iot"): the registry calls and the job reads the pipeline makes. */
export class IotService implements ServiceHandler {
  // botocore signs IoT control-plane requests with the name "execute-api"; the JS SDK uses "iot".
  readonly services = ["iot", "execute-api"];
  readonly protocol = "restJson1" as const;
  readonly things: ThingRegistry;
  readonly jobs: IotJobs;
  private readonly routes: Route[];

  constructor(context: LocalContext) {
    this.things = new ThingRegistry(context);
    this.jobs = new IotJobs(context, this.things);
    const t = this.things;
    const j = this.jobs;
    const q = (req: LocalRequest, name: string) => req.query.get(name);
    const describeGroup = (g: ThingGroupRecord) => ({
      thingGroupName: g.thingGroupName,
      thingGroupId: g.thingGroupId,
      thingGroupArn: g.thingGroupArn,
      version: g.version,
      thingGroupProperties: g.thingGroupProperties ?? {},
      thingGroupMetadata: {
        parentGroupName: g.parentGroupName,
        rootToParentThingGroups: t
          .ancestors(g)
          .map((a) => ({ groupName: a.thingGroupName, groupArn: a.thingGroupArn })),
        creationDate: toEpoch(g.creationDate),
      },
    });
    this.routes = [
      {
        method: "POST",
        pattern: /^\/things\/([^/]+)$/,
        run: (_r, [name], body) => {
          const thing = t.createThing(name as string, body);
          return { thingName: thing.thingName, thingArn: thing.thingArn, thingId: thing.thingId };
        },
      },
      {
        method: "GET",
        pattern: /^\/things\/([^/]+)$/,
        run: (_r, [name]) => {
          const thing = t.thing(name as string);
          return { defaultClientId: thing.thingName, ...thing };
        },
      },
      {
        method: "GET",
        pattern: /^\/things$/,
        run: (r) => {
          const name = q(r, "attributeName");
          const value = q(r, "attributeValue");
          const type = q(r, "thingTypeName");
          const prefix = q(r, "usePrefixAttributeValue") === "true";
          const matching = t.things().filter((th) => {
            if (type && th.thingTypeName !== type) return false;
            if (name) {
              const v = th.attributes[name];
              if (v === undefined) return false;
              if (value && (prefix ? !v.startsWith(value) : v !== value)) return false;
            }
            return true;
          });
          const { items, nextToken } = page(matching, q(r, "maxResults"), q(r, "nextToken"));
          return {
            things: items.map((th) => ({
              thingName: th.thingName,
              thingTypeName: th.thingTypeName,
              thingArn: th.thingArn,
              attributes: th.attributes,
              version: th.version,
            })),
            nextToken,
          };
        },
      },
      {
        method: "GET",
        pattern: /^\/things\/([^/]+)\/thing-groups$/,
        run: (r, [name]) => {
          const { items, nextToken } = page(
            t.groupsOf(name as string),
            q(r, "maxResults"),
            q(r, "nextToken"),
          );
          return {
            thingGroups: items.map((g) => ({ groupName: g.thingGroupName, groupArn: g.thingGroupArn })),
            nextToken,
          };
        },
      },
      {
        method: "GET",
        pattern: /^\/things\/([^/]+)\/jobs\/([^/]+)$/,
        run: (_r, [thing, jobId]) => {
          const job = j.job(jobId as string);
          const e = job.executions[t.thing(thing as string).thingName];
          if (!e) throw iotNotFound(`No job execution of ${jobId} for thing ${thing}`);
          return {
            execution: {
              jobId: job.jobId,
              thingArn: t.thing(thing as string).thingArn,
              ...j.executionSummary(e),
              statusDetails: { detailsMap: e.statusDetails ?? {} },
              versionNumber: e.versionNumber,
            },
          };
        },
      },
      {
        method: "PUT",
        pattern: /^\/thing-groups\/addThingToThingGroup$/,
        run: (_r, _p, body) => {
          const group = (body.thingGroupName ?? body.thingGroupArn) as string | undefined;
          const thing = (body.thingName ?? body.thingArn) as string | undefined;
          if (!group || !thing)
            throw iotInvalid(
              "AddThingToThingGroup needs a thing group (name or ARN) and a thing (name or ARN)",
            );
          t.addThing(group, thing);
          return {};
        },
      },
      {
        method: "PUT",
        pattern: /^\/thing-groups\/removeThingFromThingGroup$/,
        run: (_r, _p, body) => {
          const group = (body.thingGroupName ?? body.thingGroupArn) as string | undefined;
          const thing = (body.thingName ?? body.thingArn) as string | undefined;
          if (!group || !thing) throw iotInvalid("RemoveThingFromThingGroup needs a thing group and a thing");
          t.removeThing(group, thing);
          return {};
        },
      },
      {
        method: "POST",
        pattern: /^\/thing-groups\/([^/]+)$/,
        run: (_r, [name], body) => {
          const g = t.createGroup(name as string, body);
          return {
            thingGroupName: g.thingGroupName,
            thingGroupArn: g.thingGroupArn,
            thingGroupId: g.thingGroupId,
          };
        },
      },
      {
        method: "GET",
        pattern: /^\/thing-groups\/([^/]+)$/,
        run: (_r, [name]) => describeGroup(t.group(name as string)),
      },
      {
        method: "GET",
        pattern: /^\/thing-groups$/,
        run: (r) => {
          const parent = q(r, "parentGroup");
          const prefix = q(r, "namePrefixFilter");
          const recursive = q(r, "recursive") !== "false";
          const groups = t.groups().filter((g) => {
            if (prefix && !g.thingGroupName.startsWith(prefix)) return false;
            if (parent)
              return recursive
                ? t.ancestors(g).some((a) => a.thingGroupName === parent)
                : g.parentGroupName === parent;
            return true;
          });
          const { items, nextToken } = page(groups, q(r, "maxResults"), q(r, "nextToken"));
          return {
            thingGroups: items.map((g) => ({ groupName: g.thingGroupName, groupArn: g.thingGroupArn })),
            nextToken,
          };
        },
      },
      {
        method: "GET",
        pattern: /^\/thing-groups\/([^/]+)\/things$/,
        run: (r, [name]) => {
          const { items, nextToken } = page(
            t.members(name as string, q(r, "recursive") === "true"),
            q(r, "maxResults"),
            q(r, "nextToken"),
          );
          return { things: items, nextToken };
        },
      },
      {
        method: "GET",
        pattern: /^\/jobs\/([^/]+)$/,
        run: (_r, [jobId]) => ({ job: j.toApi(j.job(jobId as string)) }),
      },
      {
        method: "GET",
        pattern: /^\/jobs$/,
        run: (r) => {
          const status = q(r, "status");
          const group = q(r, "thingGroupName");
          const jobs = j
            .jobs()
            .filter(
              (job) =>
                (!status || job.status === status) &&
                (!group || job.targets.some((x) => x.endsWith(`/${group}`))),
            );
          const { items, nextToken } = page(jobs, q(r, "maxResults"), q(r, "nextToken"));
          return {
            jobs: items.map((job) => ({
              jobArn: job.jobArn,
              jobId: job.jobId,
              targetSelection: job.targetSelection,
              status: job.status,
              createdAt: toEpoch(job.createdAt),
              lastUpdatedAt: toEpoch(job.lastUpdatedAt),
              completedAt: job.completedAt ? toEpoch(job.completedAt) : undefined,
              isConcurrent: false,
            })),
            nextToken,
          };
        },
      },
      {
        method: "PUT",
        pattern: /^\/jobs\/([^/]+)\/cancel$/,
        run: async (r, [jobId], body) => {
          await j.cancelJob(jobId as string, {
            ...(typeof body.reasonCode === "string" ? { reasonCode: body.reasonCode } : {}),
            ...(typeof body.comment === "string" ? { comment: body.comment } : {}),
            force: q(r, "force") === "true",
          });
          const job = j.job(jobId as string);
          return { jobArn: job.jobArn, jobId: job.jobId, description: job.description };
        },
      },
      {
        method: "GET",
        pattern: /^\/jobs\/([^/]+)\/things$/,
        run: (r, [jobId]) => {
          const job = j.job(jobId as string);
          const status = q(r, "status");
          const rows = Object.entries(job.executions)
            .filter(([, e]) => !status || e.status === status)
            .sort(([, a], [, b]) => a.executionNumber - b.executionNumber);
          const { items, nextToken } = page(rows, q(r, "maxResults"), q(r, "nextToken"));
          return {
            executionSummaries: items.map(([thing, e]) => ({
              thingArn: t.thing(thing).thingArn,
              jobExecutionSummary: j.executionSummary(e),
            })),
            nextToken,
          };
        },
      },
    ];
  }

  async handle(req: LocalRequest): Promise<LocalResponse> {
    const path = req.path
      .split("/")
      .map((s) => decodeURIComponent(s))
      .join("/");
    for (const route of this.routes) {
      if (route.method !== req.method) continue;
      const match = route.pattern.exec(path);
      if (!match) continue;
      let body: Json = {};
      if (req.body.length > 0) {
        try {
          body = JSON.parse(req.body.toString("utf8")) as Json;
        } catch {
          throw iotInvalid("request body is not valid JSON");
        }
      }
      return { status: 200, body: (await route.run(req, match.slice(1), body)) as object };
    }
    throw new AwsError(
      "UnknownOperationException",
      `the local endpoint does not implement IoT ${req.method} ${req.path}`,
      404,
    );
  }

  async flush(): Promise<void> {
    this.things.flush();
    this.jobs.flush();
  }

  async close(): Promise<void> {
    this.jobs.close();
  }
}
