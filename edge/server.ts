import { existsSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { Response } from "./protocol.ts";
import type { InferenceRuntime } from "./runtime.ts";

export interface ServerOptions {
  /** Unix domain socket path; when absent the server listens on 127.0.0.1:`port`. */
  socketPath?: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** Longest request line (characters) accepted; a longer one gets an error response. */
  maxLineBytes?: number;
}

export interface RunningServer {
  /** The socket path, or "127.0.0.1:<port>". */
  address: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Serves the runtime over newline-delimited JSON. Requests on one connection are answered in
 * order; a bad line gets an error response and the connection stays usable.
 * @example const server = await startServer(runtime, { socketPath: "/tmp/inference.sock" });
 */
export async function startServer(
  runtime: InferenceRuntime,
  options: ServerOptions = {},
): Promise<RunningServer> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket, runtime, maxLineBytes);
  });

  if (options.socketPath) {
    // A socket file left by a killed process would make listen fail with EADDRINUSE.
    if (existsSync(options.socketPath)) unlinkSync(options.socketPath);
    await listen(server, { path: options.socketPath });
  } else {
    await listen(server, { port: options.port ?? 0, host: "127.0.0.1" });
  }
  const bound = server.address();
  const address = typeof bound === "string" ? bound : `127.0.0.1:${bound?.port}`;

  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function listen(server: Server, target: { path: string } | { port: number; host: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(target, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function serveConnection(socket: Socket, runtime: InferenceRuntime, maxLineBytes: number): void {
  let pending = "";
  // Responses leave in request order even though predictions run concurrently.
  let queue: Promise<void> = Promise.resolve();
  const reply = (response: Promise<Response>) => {
    queue = queue.then(async () => {
      const body = `${JSON.stringify(await response)}\n`;
      if (!socket.destroyed) socket.write(body);
    });
  };
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line.length > maxLineBytes) reply(Promise.resolve(tooLong(maxLineBytes)));
      else if (line !== "") reply(handleLine(runtime, line));
      newline = pending.indexOf("\n");
    }
    // An unterminated line past the limit cannot be resynchronised: answer and hang up.
    if (pending.length > maxLineBytes) {
      reply(Promise.resolve(tooLong(maxLineBytes)));
      queue = queue.then(() => void socket.end());
      pending = "";
    }
  });
  // A client that disconnects mid-request is not the server's problem.
  socket.on("error", () => socket.destroy());
}

function handleLine(runtime: InferenceRuntime, line: string): Promise<Response> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return Promise.resolve(errorResponse("request is not valid JSON"));
  }
  return runtime.handle(request);
}

function tooLong(limit: number): Response {
  return errorResponse(`request line exceeds ${limit} characters`);
}

function errorResponse(message: string): Response {
  return { id: null, ok: false, error: { code: "BadRequest", message } };
}
