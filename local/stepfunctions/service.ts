import { AwsError, type LocalRequest, type ServiceHandler } from "../server/types.ts";
import type { ExecutionRecord, StateMachineRecord, StepFunctionsEngine } from "./engine.ts";

/** awsJson1_0 timestamps are epoch seconds. */
const epoch = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso).getTime() / 1000);

function body(req: LocalRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    const parsed = JSON.parse(req.body.toString("utf8")) as unknown;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new AwsError("SerializationException", "request body must be a JSON object", 400);
}

/** Offset paging with an opaque token (AWS tokens are opaque too). */
function page<T>(
  items: T[],
  b: Record<string, unknown>,
  dflt: number,
  max: number,
): { items: T[]; nextToken?: string } {
  const size = b.maxResults === undefined || b.maxResults === 0 ? dflt : Number(b.maxResults);
  if (!Number.isInteger(size) || size < 0 || size > max)
    throw new AwsError("ValidationException", `maxResults must be between 0 and ${max}`, 400);
  const start =
    typeof b.nextToken === "string" ? Number(Buffer.from(b.nextToken, "base64url").toString()) : 0;
  if (!Number.isInteger(start) || start < 0)
    throw new AwsError("InvalidToken", "Invalid Token: nextToken is not valid", 400);
  const end = start + size;
  return end < items.length
    ? { items: items.slice(start, end), nextToken: Buffer.from(String(end)).toString("base64url") }
    : { items: items.slice(start) };
}

const str = (b: Record<string, unknown>, key: string): string | undefined =>
  typeof b[key] === "string" ? (b[key] as string) : undefined;

/** Step Functions over awsJson1_0 (`AWSStepFunctions.<Operation>`). */
export function stepFunctionsService(engine: StepFunctionsEngine): ServiceHandler {
  const machineSummary = (m: StateMachineRecord) => ({
    stateMachineArn: m.stateMachineArn,
    name: m.name,
    type: m.type,
    creationDate: epoch(m.creationDate),
  });
  const executionSummary = (e: ExecutionRecord) => ({
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: epoch(e.startDate),
    stopDate: epoch(e.stopDate),
  });

  const ops: Record<string, (b: Record<string, unknown>) => unknown | Promise<unknown>> = {
    CreateStateMachine: (b) => {
      const m = engine.createStateMachine({
        name: str(b, "name"),
        definition: str(b, "definition"),
        roleArn: str(b, "roleArn"),
        type: str(b, "type"),
      });
      return { stateMachineArn: m.stateMachineArn, creationDate: epoch(m.creationDate) };
    },
    DescribeStateMachine: (b) => {
      const m = engine.describeStateMachine(str(b, "stateMachineArn") ?? "");
      return {
        ...machineSummary(m),
        status: "ACTIVE",
        definition: m.definition,
        roleArn: m.roleArn,
        loggingConfiguration: { level: "OFF", includeExecutionData: false },
      };
    },
    ListStateMachines: (b) => {
      const p = page(engine.listStateMachines(), b, 100, 1000);
      return { stateMachines: p.items.map(machineSummary), nextToken: p.nextToken };
    },
    StartExecution: (b) => {
      const e = engine.startExecution({
        stateMachineArn: str(b, "stateMachineArn"),
        name: str(b, "name"),
        input: str(b, "input"),
      });
      return { executionArn: e.executionArn, startDate: epoch(e.startDate) };
    },
    DescribeExecution: (b) => {
      const e = engine.describeExecution(str(b, "executionArn") ?? "");
      return {
        ...executionSummary(e),
        input: e.input,
        inputDetails: { included: true },
        ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
        ...(e.error !== undefined ? { error: e.error } : {}),
        ...(e.cause !== undefined ? { cause: e.cause } : {}),
      };
    },
    ListExecutions: (b) => {
      const arn = str(b, "stateMachineArn");
      if (!arn) throw new AwsError("ValidationException", "stateMachineArn is required", 400);
      const p = page(engine.listExecutions(arn, str(b, "statusFilter")), b, 100, 1000);
      return { executions: p.items.map(executionSummary), nextToken: p.nextToken };
    },
    GetExecutionHistory: (b) => {
      const e = engine.describeExecution(str(b, "executionArn") ?? "");
      const events = b.reverseOrder === true ? [...e.events].reverse() : e.events;
      const withData = b.includeExecutionData !== false;
      const p = page(events, b, 100, 1000);
      return {
        events: p.items.map((ev) => ({ ...(withData ? ev : stripData(ev)), timestamp: epoch(ev.timestamp) })),
        nextToken: p.nextToken,
      };
    },
    StopExecution: async (b) => {
      const e = await engine.stopExecution(str(b, "executionArn") ?? "", str(b, "error"), str(b, "cause"));
      return { stopDate: epoch(e.stopDate) };
    },
  };

  return {
    services: ["states"],
    protocol: "awsJson1_0",
    async handle(req) {
      const op = req.target ? ops[req.target] : undefined;
      if (!op)
        throw new AwsError(
          "UnknownOperationException",
          `${req.target ?? "(no X-Amz-Target)"} is not a Step Functions operation the local endpoint serves`,
          400,
        );
      return {
        status: 200,
        headers: { "content-type": "application/x-amz-json-1.0" },
        body: (await op(body(req))) as object,
      };
    },
    async close() {
      await engine.close();
    },
  };
}

/** includeExecutionData=false drops inputs and outputs from the event details, as AWS does. */
function stripData(event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    if (k.endsWith("EventDetails") && v && typeof v === "object") {
      const { input: _i, output: _o, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    } else out[k] = v;
  }
  return out;
}
