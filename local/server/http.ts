import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import type { Faults } from "../faults.ts";
import { toAwsError, writeError } from "./errors.ts";
import { type CredentialScope, credentialScope } from "./sigv4.ts";
import {
  AwsError,
  type LocalRequest,
  type LocalResponse,
  type ServiceHandler,
  type WireProtocol,
} from "./types.ts";

/** A handler that takes the raw stream (S3 bodies are streamed, not buffered). */
export interface StreamingServiceHandler extends ServiceHandler {
  handleRaw?(req: IncomingMessage, res: ServerResponse, scope: CredentialScope): Promise<void>;
}

export interface AdminRequest {
  method: string;
  headers: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

/** What an admin route returns when it needs a status other than 200. */
export class AdminReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

export type AdminHandler = (req: AdminRequest) => Promise<unknown>;

/** Requests from the endpoint's own services carry this header and skip fault injection. */
export const internalHeader = "x-edge-mlops-internal";
export const adminPrefix = "/_edge-mlops/";
const maxBodyBytes = 256 * 1024 * 1024;

const throttlingError = (service: string) =>
  service === "s3"
    ? new AwsError("SlowDown", "Please reduce your request rate. (injected by the local endpoint)", 503)
    : new AwsError("ThrottlingException", "Rate exceeded (injected by the local endpoint)", 400);

const contentType: Record<WireProtocol, string> = {
  awsJson1_0: "application/x-amz-json-1.0",
  awsJson1_1: "application/x-amz-json-1.1",
  restJson1: "application/json",
  restXml: "application/xml",
  query: "text/xml",
};

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(",") : v;
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new AwsError("RequestEntityTooLarge", "request body too large", 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const isLoopback = (address: string | undefined) =>
  address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";

/**
 * Routes each request by its SigV4 credential scope's service name to the handler serving it,
 * applies injected faults, and writes thrown AwsErrors in the handler's protocol shape.
 */
export class Router {
  private readonly handlers = new Map<string, StreamingServiceHandler>();
  private readonly admin = new Map<string, AdminHandler>();
  /** Requests seen, per "service:Operation" (fault-injected ones included): what tests count retries with. */
  readonly requests = new Map<string, number>();
  /** The same counts per signing access key id: which device (or operator) made which calls. */
  readonly callers = new Map<string, Map<string, number>>();

  constructor(private readonly faults: Faults) {}

  register(handler: StreamingServiceHandler): void {
    for (const service of handler.services) {
      if (this.handlers.has(service))
        throw new Error(`service "${service}" is already served by another handler`);
    }
    for (const service of handler.services) this.handlers.set(service, handler);
  }

  served(): string[] {
    return [...this.handlers.keys()].sort();
  }

  addAdminRoute(method: string, name: string, handler: AdminHandler): void {
    this.admin.set(`${method.toUpperCase()} ${name}`, handler);
  }

  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((error) => {
      writeError(res, "awsJson1_1", toAwsError(error), randomUUID());
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith(adminPrefix)) return this.dispatchAdmin(req, res, url);

    const requestId = randomUUID();
    const scope = credentialScope(req.headers, url.searchParams);
    if (!scope) {
      const error = new AwsError(
        "MissingAuthenticationTokenException",
        "request is not signed with SigV4, so the local endpoint cannot tell which service it is for; use any dummy credentials",
        403,
      );
      return writeError(res, "awsJson1_1", error, requestId);
    }
    const handler = this.handlers.get(scope.service);
    if (!handler) {
      const error = new AwsError(
        "NotImplemented",
        `the local endpoint does not serve the "${scope.service}" service (it serves: ${this.served().join(", ")})`,
        501,
      );
      return writeError(res, "awsJson1_1", error, requestId);
    }
    const targetHeader = req.headers["x-amz-target"];
    const target =
      typeof targetHeader === "string" ? targetHeader.slice(targetHeader.lastIndexOf(".") + 1) : undefined;
    const key = `${scope.service}:${target ?? `${req.method} ${url.pathname.split("/")[1] ?? ""}`}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const byCaller = this.callers.get(scope.accessKeyId) ?? new Map<string, number>();
    this.callers.set(scope.accessKeyId, byCaller.set(key, (byCaller.get(key) ?? 0) + 1));

    try {
      if (req.headers[internalHeader] === undefined) {
        const latency = this.faults.latencyMs(scope.service, target);
        if (latency > 0) await delay(latency);
        if (this.faults.shouldThrottle(scope.service, target)) {
          req.resume();
          throw throttlingError(scope.service);
        }
      }
      if (handler.handleRaw) return await handler.handleRaw(req, res, scope);

      const request: LocalRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: flatHeaders(req),
        body: await readBody(req),
        service: scope.service,
        ...(target === undefined ? {} : { target }),
      };
      const response = await handler.handle(request);
      this.writeResponse(res, handler.protocol, response, requestId);
    } catch (error) {
      writeError(res, handler.protocol, toAwsError(error), requestId);
    }
  }

  private writeResponse(
    res: ServerResponse,
    protocol: WireProtocol,
    response: LocalResponse,
    requestId: string,
  ) {
    const headers: Record<string, string> = { "x-amzn-requestid": requestId, ...response.headers };
    let body: Buffer;
    if (response.body === undefined) body = Buffer.alloc(0);
    else if (Buffer.isBuffer(response.body)) body = response.body;
    else if (typeof response.body === "string") body = Buffer.from(response.body);
    else {
      body = Buffer.from(JSON.stringify(response.body));
      headers["content-type"] ??= contentType[protocol];
    }
    headers["content-length"] = String(body.length);
    res.writeHead(response.status, headers);
    res.end(body);
  }

  private async dispatchAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body ?? {});
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (!isLoopback(req.socket.remoteAddress))
      return reply(403, { message: "admin paths answer loopback clients only" });
    const name = url.pathname.slice(adminPrefix.length);
    const handler = this.admin.get(`${req.method} ${name}`);
    if (!handler) return reply(404, { message: `no admin route ${req.method} ${url.pathname}` });
    let body: unknown;
    const raw = await readBody(req);
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return reply(400, { message: "admin request body must be JSON" });
      }
    }
    try {
      const result = await handler({
        method: req.method ?? "GET",
        headers: flatHeaders(req),
        query: url.searchParams,
        body,
      });
      if (result instanceof AdminReply) return reply(result.status, result.body);
      reply(200, result);
    } catch (error) {
      reply(400, { message: error instanceof Error ? error.message : String(error) });
    }
  }
}
