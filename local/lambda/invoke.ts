/**
 * Runs a Lambda handler module in this process with a realistic `Context`, as the Lambda runtime
 * would: one module load per function (cold start once, then warm), an enforced timeout, and
 * errors reported with Lambda's `errorType` / `errorMessage` shape.
 *
 * Handlers create their SDK clients at module scope, so the environment they read (endpoint
 * URL, dummy credentials, their own variables) must be in `process.env` before the module first
 * loads: `applyLambdaEnvironment` does that, and `LocalFunction` calls it before importing.
 */
import { randomUUID } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";

/** The handler ran and threw, or did not finish in time; `errorType` is what Step Functions matches on. */
export class LambdaInvocationError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
    options?: { cause?: unknown },
  ) {
    super(errorMessage, options);
    this.name = errorType;
  }

  /** The `Cause` Step Functions records for a Lambda error. */
  toCause(): string {
    const trace =
      this.cause instanceof Error && this.cause.stack
        ? this.cause.stack
            .split("\n")
            .slice(1, 8)
            .map((l) => l.trim())
        : [];
    return JSON.stringify({ errorMessage: this.errorMessage, errorType: this.errorType, trace });
  }
}

/** Two functions asked for different values of one variable; they share one process, so that cannot work. */
export class LambdaEnvironmentConflictError extends Error {
  constructor(readonly variable: string) {
    super(
      `in-process functions need different values for ${variable}; give them the same value or run them out of process`,
    );
    this.name = "LambdaEnvironmentConflictError";
  }
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalFunctionOptions {
  functionName: string;
  /** Module path, absolute or relative to `root`; it must export `handler` (or `exportName`). */
  modulePath: string;
  root?: string;
  exportName?: string;
  region: string;
  accountId: string;
  timeoutSeconds?: number;
  memoryLimitInMB?: number;
  /** Variables this function reads; merged into process.env before its module loads. */
  environment?: Record<string, string>;
}

const owners = new Map<string, string>();

/**
 * Puts variables into process.env for in-process handlers. The same variable set twice to
 * different values throws instead of letting the last function silently win.
 * @example applyLambdaEnvironment({ AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: "test" }, "endpoint")
 */
export function applyLambdaEnvironment(env: Record<string, string>, owner: string): void {
  for (const [key, value] of Object.entries(env)) {
    const current = process.env[key];
    if (current !== undefined && current !== value && owners.has(key) && owners.get(key) !== owner) {
      throw new LambdaEnvironmentConflictError(key);
    }
    process.env[key] = value;
    owners.set(key, owner);
  }
}

/** The variables that point every AWS SDK client in this process at the local endpoint. */
export function endpointEnvironment(endpointUrl: string, region: string): Record<string, string> {
  // Service-specific variables win over AWS_ENDPOINT_URL in the SDK: set them too, so a shell that
  // exports one for real AWS cannot send an in-process handler there.
  const perService = Object.fromEntries(
    ["S3", "SAGEMAKER", "GREENGRASSV2", "IOT", "SFN", "EVENTBRIDGE", "SQS", "SCHEDULER"].map((s) => [
      `AWS_ENDPOINT_URL_${s}`,
      endpointUrl,
    ]),
  );
  return {
    ...perService,
    AWS_ENDPOINT_URL: endpointUrl,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // Dummy keys: the endpoint accepts any SigV4 signature, and the SDK needs something to sign with.
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_S3_FORCE_PATH_STYLE: "true",
  };
}

export class LocalFunction {
  readonly arn: string;
  private handler?: Promise<Handler>;
  invocations = 0;

  constructor(readonly opts: LocalFunctionOptions) {
    this.arn = `arn:aws:lambda:${opts.region}:${opts.accountId}:function:${opts.functionName}`;
  }

  private load(): Promise<Handler> {
    this.handler ??= (async () => {
      if (this.opts.environment) applyLambdaEnvironment(this.opts.environment, this.opts.functionName);
      const path = isAbsolute(this.opts.modulePath)
        ? this.opts.modulePath
        : resolve(this.opts.root ?? process.cwd(), this.opts.modulePath);
      const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      const fn = mod[this.opts.exportName ?? "handler"];
      if (typeof fn !== "function")
        throw new LambdaInvocationError(
          "Runtime.HandlerNotFound",
          `${this.opts.modulePath} does not export ${this.opts.exportName ?? "handler"}`,
        );
      return fn as Handler;
    })();
    // A module that failed to load is retried on the next invocation, as a new cold start would.
    this.handler.catch(() => {
      this.handler = undefined;
    });
    return this.handler;
  }

  /** Invokes the handler with a copy of the event (a real invocation gets it over the wire). */
  async invoke(event: unknown): Promise<unknown> {
    this.invocations++;
    const handler = await this.load().catch((err: unknown) => {
      if (err instanceof LambdaInvocationError) throw err;
      throw new LambdaInvocationError(
        "Runtime.ImportModuleError",
        `cannot load ${this.opts.modulePath}: ${(err as Error).message}`,
        { cause: err },
      );
    });
    const timeoutMs = (this.opts.timeoutSeconds ?? 60) * 1000;
    const deadline = Date.now() + timeoutMs;
    const requestId = randomUUID();
    const context: Context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: this.opts.functionName,
      functionVersion: "$LATEST",
      invokedFunctionArn: this.arn,
      memoryLimitInMB: String(this.opts.memoryLimitInMB ?? 256),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${this.opts.functionName}`,
      logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]${requestId.replaceAll("-", "")}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LambdaInvocationError(
              "Sandbox.Timedout",
              `Task timed out after ${(this.opts.timeoutSeconds ?? 60).toFixed(2)} seconds`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      const result = await Promise.race([handler(structuredClone(event), context), timeout]);
      // A real invocation returns JSON: undefined becomes null and non-JSON values are dropped.
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (err) {
      if (err instanceof LambdaInvocationError) throw err;
      const e = err instanceof Error ? err : new Error(String(err));
      throw new LambdaInvocationError(e.name || "Error", e.message, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The functions the endpoint runs, found by name or ARN. */
export class FunctionRegistry {
  private readonly byName = new Map<string, LocalFunction>();

  add(fn: LocalFunction): LocalFunction {
    this.byName.set(fn.opts.functionName, fn);
    return fn;
  }

  /** Accepts a name, a full ARN, or an ARN with a `:$LATEST` qualifier. */
  get(nameOrArn: string): LocalFunction | undefined {
    const m = /^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:([^:]+)(?::.+)?$/.exec(nameOrArn);
    return this.byName.get(m ? (m[1] as string) : nameOrArn);
  }

  list(): LocalFunction[] {
    return [...this.byName.values()];
  }
}
