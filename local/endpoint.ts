import "./polyfills.ts";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DeviceCredentials, newToken } from "./credentials/device-tokens.ts";
import { addCredentialRoutes } from "./credentials/routes.ts";
import { type FaultConfig, Faults } from "./faults.ts";
import { IotService } from "./iot/service.ts";
import { S3Service } from "./s3/service.ts";
import { type SageMakerOptions, SageMakerService } from "./sagemaker/service.ts";
import { ScaledClock } from "./server/clock.ts";
import { AdminReply, Router, type StreamingServiceHandler } from "./server/http.ts";
import { JsonState } from "./server/state.ts";
import type { BusEvent, LocalContext, ServiceFactory, ServiceHandler } from "./server/types.ts";

export interface LocalEndpointOptions {
  /** Default 4566; 0 picks a free port. The endpoint binds 127.0.0.1 only. */
  port?: number;
  /** Default `.edge-mlops` in the working directory. */
  stateDir?: string;
  /** Delete the state dir before starting. */
  reset?: boolean;
  /** Wall seconds per clock second: 0.02 makes a 30 s Wait take 0.6 s; 0 makes waits instant. Default 0.02. */
  timeScale?: number;
  faults?: FaultConfig;
  /** Extra services, by folder-like name (their state goes to `<stateDir>/<name>`). */
  services?: Record<string, ServiceFactory> | ServiceFactory[];
  /** Load `local/<folder>/index.ts` modules exporting `createService` (default true). */
  discover?: boolean;
  /** Buckets that exist from the start. */
  buckets?: string[];
  region?: string;
  accountId?: string;
  /** Token devices must present to the credentials endpoint; generated when absent. */
  credentialsToken?: string;
  sagemaker?: SageMakerOptions;
}

export interface LocalEndpoint {
  url: string;
  port: number;
  stateDir: string;
  /** The root context (stateDir is the root); each service got its own copy. */
  context: LocalContext;
  clock: ScaledClock;
  faults: Faults;
  router: Router;
  s3: S3Service;
  iot: IotService;
  sagemaker: SageMakerService;
  /** Every event emitted on the local bus since start, oldest first (the last 1000). */
  emitted: BusEvent[];
  /** Events a bus listener failed on (the last 100); the emitting call still succeeded. */
  deliveryErrors: { event: BusEvent; error: string }[];
  /** For simulated devices: AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN. */
  credentials: { fullUri: string; token: string; devices: DeviceCredentials };
  register(handler: ServiceHandler): void;
  close(): Promise<void>;
}

/** Folders under local/ that are not pluggable services (or are built in). */
const builtIn = new Set(["server", "s3", "iot", "sagemaker", "credentials"]);
const localDir = fileURLToPath(new URL(".", import.meta.url));

async function discoverFactories(): Promise<[string, ServiceFactory][]> {
  const found: [string, ServiceFactory][] = [];
  for (const entry of readdirSync(localDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || builtIn.has(entry.name)) continue;
    const index = join(localDir, entry.name, "index.ts");
    if (!existsSync(index)) continue;
    const module = (await import(pathToFileURL(index).href)) as { createService?: ServiceFactory };
    if (typeof module.createService === "function") found.push([entry.name, module.createService]);
  }
  return found.sort(([a], [b]) => a.localeCompare(b));
}

/**
 * Starts the local AWS endpoint: S3, IoT, SageMaker, the token exchange and every pluggable
 * service, behind one loopback HTTP server.
 * @example const endpoint = await startLocalEndpoint({ port: 0, stateDir: tmp, timeScale: 0 }); … await endpoint.close();
 */
function addAdminRoutes(router: Router, faults: Faults, clock: ScaledClock): void {
  router.addAdminRoute("GET", "health", async () => ({
    status: "ok",
    services: router.served(),
    clock: clock.now().toISOString(),
  }));
  router.addAdminRoute("GET", "faults", async () => ({
    faults: faults.get(),
    throttled: Object.fromEntries(faults.throttled),
  }));
  router.addAdminRoute("POST", "faults", async (req) => {
    faults.set((req.body ?? {}) as FaultConfig);
    return { faults: faults.get() };
  });
  router.addAdminRoute("GET", "requests", async () => Object.fromEntries(router.requests));
  router.addAdminRoute("POST", "clock/advance", async (req) => {
    const seconds = Number((req.body as { seconds?: unknown } | undefined)?.seconds);
    if (!(seconds >= 0)) return new AdminReply(400, { message: 'body must be {"seconds": <number >= 0>}' });
    clock.advance(seconds);
    return { now: clock.now().toISOString() };
  });
}

export async function startLocalEndpoint(options: LocalEndpointOptions = {}): Promise<LocalEndpoint> {
  const stateDir = resolve(options.stateDir ?? ".edge-mlops");
  if (options.reset) rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });

  // Clock time never goes backwards across restarts: a scaled clock runs ahead of the wall clock.
  const clockState = new JsonState(join(stateDir, "clock.json"), { now: new Date(0).toISOString() });
  const start = new Date(Math.max(Date.now(), Date.parse(clockState.data.now)));
  const clock = new ScaledClock(options.timeScale ?? 0.02, start);
  const faults = new Faults(options.faults);
  const router = new Router(faults);
  const server: Server = createServer(router.listener);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 4566, "127.0.0.1", () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const emitted: BusEvent[] = [];
  const deliveryErrors: { event: BusEvent; error: string }[] = [];
  const listeners = new Set<(event: BusEvent) => Promise<void> | void>();
  const root: LocalContext = {
    clock,
    region: options.region ?? "us-east-1",
    accountId: options.accountId ?? "000000000000",
    stateDir,
    endpointUrl: url,
    async emit(event) {
      const stamped = { ...event, Time: event.Time ?? clock.now() };
      emitted.push(stamped);
      if (emitted.length > 1000) emitted.shift();
      // As on AWS, delivery never fails the API call that caused the event: failures are kept.
      const results = await Promise.allSettled([...listeners].map(async (listener) => listener(stamped)));
      for (const r of results) {
        if (r.status === "rejected") {
          deliveryErrors.push({
            event: stamped,
            error: r.reason instanceof Error ? r.reason.message : String(r.reason),
          });
          if (deliveryErrors.length > 100) deliveryErrors.shift();
        }
      }
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    addAdminRoute(method, name, handler) {
      router.addAdminRoute(method, name, (req) => handler(req.body));
    },
  };
  const contextFor = (name: string): LocalContext => {
    const dir = join(stateDir, name);
    mkdirSync(dir, { recursive: true });
    return { ...root, stateDir: dir };
  };

  const handlers: ServiceHandler[] = [];
  const register = (handler: ServiceHandler) => {
    router.register(handler as StreamingServiceHandler);
    handlers.push(handler);
  };

  let s3: S3Service;
  let iot: IotService;
  let sagemaker: SageMakerService;
  const token = options.credentialsToken ?? newToken();
  let devices: DeviceCredentials;
  try {
    s3 = new S3Service(contextFor("s3"), options.buckets);
    await s3.start();
    register(s3);
    root.objects = s3;
    iot = new IotService(contextFor("iot"));
    register(iot);
    root.iotJobs = iot.jobs;
    sagemaker = new SageMakerService(contextFor("sagemaker"), s3, faults, options.sagemaker);
    register(sagemaker);
    addAdminRoutes(router, faults, clock);
    devices = new DeviceCredentials({ operatorToken: token, stateDir: contextFor("credentials").stateDir });
    addCredentialRoutes(router, devices);
    const principals = devices;
    // Requests per caller, named by the thing a device token was issued to where there is one.
    router.addAdminRoute("GET", "requests/callers", async () =>
      Object.fromEntries(
        [...router.callers].map(([key, ops]) => [
          principals.principalOf(key) ?? key,
          Object.fromEntries(ops),
        ]),
      ),
    );

    const extra = Array.isArray(options.services)
      ? options.services.map((f, i) => [`service-${i + 1}`, f] as [string, ServiceFactory])
      : Object.entries(options.services ?? {});
    const factories = [...(options.discover === false ? [] : await discoverFactories()), ...extra];
    for (const [name, factory] of factories) register(await factory(contextFor(name)));
  } catch (error) {
    // A bad state file or a failing service must not leave a half-started server listening.
    await Promise.allSettled(handlers.map((h) => h.close?.()));
    clock.close();
    await new Promise<void>((done) => server.close(() => done()));
    throw error;
  }
  // Jobs left running by a previous run resume once every service (Greengrass for packaging) is in.
  sagemaker.start();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
      for (const handler of [...handlers].reverse()) {
        await handler.flush?.();
        await handler.close?.();
      }
      clockState.data.now = clock.now().toISOString();
      clockState.save();
      clock.close();
    })();
    return closing;
  };

  return {
    url,
    port,
    stateDir,
    context: root,
    clock,
    faults,
    router,
    s3,
    iot,
    sagemaker,
    emitted,
    deliveryErrors,
    credentials: { fullUri: `${url}/_edge-mlops/credentials`, token, devices },
    register,
    close,
  };
}
