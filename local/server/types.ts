/**
 * Contracts between the local endpoint's HTTP core and the per-service emulations.
 * The core (local/server/) parses SigV4 to find the service, applies fault injection and
 * turns thrown AwsError into the protocol's error shape; a service only maps operations to state.
 */

/** How the service speaks on the wire; decides the error shape the core writes. */
export type WireProtocol = "awsJson1_0" | "awsJson1_1" | "restJson1" | "restXml" | "query";

export interface LocalRequest {
  method: string;
  /** URL path, decoded per segment by the service if it needs to. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
  /** SigV4 credential scope's service name, e.g. "sagemaker", "greengrass", "iot", "s3", "states", "events". */
  service: string;
  /** Operation from `X-Amz-Target` (text after the last dot) for JSON protocols. */
  target?: string;
}

export interface LocalResponse {
  status: number;
  headers?: Record<string, string>;
  /** An object is written as JSON. */
  body?: Buffer | string | object;
}

/** Thrown by services; the core writes it in the protocol's error shape so SDK retries behave as on AWS. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = "AwsError";
  }
}

export const notFound = (what: string) => new AwsError("ResourceNotFound", `${what} does not exist`, 404);
export const validation = (message: string) => new AwsError("ValidationException", message, 400);
export const conflict = (message: string) => new AwsError("ConflictException", message, 409);

/** Time that can run faster than the wall clock so Wait states and job progress take milliseconds. */
export interface Clock {
  now(): Date;
  /** Resolves after `seconds` of clock time. */
  sleep(seconds: number): Promise<void>;
}

/** One event as PutEvents takes it; the router matches it against the rules in `events/`. */
export interface BusEvent {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: Date;
}

export interface LocalContext {
  clock: Clock;
  /** Put an event on the local bus (what AWS services do when state changes). */
  emit(event: BusEvent): Promise<void>;
  region: string;
  accountId: string;
  /** Directory for this service's persisted state. */
  stateDir: string;
}

export interface ServiceHandler {
  /** SigV4 service names this handler answers, e.g. ["greengrass"]. */
  services: string[];
  protocol: WireProtocol;
  handle(req: LocalRequest): Promise<LocalResponse>;
  /** Persist state now (called on shutdown); services should also persist after each mutation. */
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

/*
 * Additions below are optional on LocalContext so older services keep compiling; the endpoint
 * built by `startLocalEndpoint` (local/endpoint.ts) always fills them in.
 */

/** One S3 event notification record as AWS delivers it (key URL-encoded, spaces as "+"). */
export interface S3ObjectCreatedRecord {
  eventVersion: "2.1";
  eventSource: "aws:s3";
  awsRegion: string;
  eventTime: string;
  eventName: string;
  userIdentity: { principalId: string };
  requestParameters: { sourceIPAddress: string };
  responseElements: Record<string, string>;
  s3: {
    s3SchemaVersion: "1.0";
    configurationId: string;
    bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
    object: { key: string; size: number; eTag: string; sequencer: string };
  };
}

/** In-process access to the local S3 store (what S3 event notifications and in-process readers use). */
export interface ObjectStoreApi {
  /**
   * Calls `listener` after every object created in `bucket` whose key starts with `prefix`
   * (Put, Copy, CompleteMultipartUpload). Returns an unsubscribe function.
   * @example ctx.objects.onObjectCreated("capture", "capture/", (r) => queue.send({ Records: [r] }))
   */
  onObjectCreated(
    bucket: string,
    prefix: string,
    listener: (record: S3ObjectCreatedRecord) => void | Promise<void>,
  ): () => void;
  getObject(bucket: string, key: string): Promise<Buffer | undefined>;
  putObject(bucket: string, key: string, body: Buffer, contentType?: string): Promise<{ eTag: string }>;
  createBucket(bucket: string): Promise<void>;
}

export type JobExecutionStatus =
  | "QUEUED"
  | "IN_PROGRESS"
  | "SUCCEEDED"
  | "FAILED"
  | "TIMED_OUT"
  | "REJECTED"
  | "REMOVED"
  | "CANCELED";

export interface CreateIotJobInput {
  jobId: string;
  /** Thing and thing group ARNs. */
  targets: string[];
  /** Job document (JSON text or object). */
  document?: string | object;
  description?: string;
  /** Greengrass deployments are CONTINUOUS: things added to a target group later get an execution too. */
  targetSelection?: "SNAPSHOT" | "CONTINUOUS";
  jobExecutionsRolloutConfig?: { maximumPerMinute?: number };
  abortConfig?: {
    criteriaList: {
      failureType: "FAILED" | "REJECTED" | "TIMED_OUT" | "ALL";
      action: "CANCEL";
      thresholdPercentage: number;
      minNumberOfExecutedThings: number;
    }[];
  };
  timeoutConfig?: { inProgressTimeoutInMinutes?: number };
}

/** A change devices and deployers react to. */
export interface IotJobEvent {
  type: "execution-queued" | "execution-updated" | "job-canceled" | "job-completed";
  jobId: string;
  thingName?: string;
  status?: JobExecutionStatus;
}

/**
 * The IoT jobs store the Greengrass emulation creates deployment jobs in and devices report to.
 * Implemented in local/iot/jobs.ts; `describe` returns the same `job` object DescribeJob serves.
 */
export interface IotJobsApi {
  createJob(input: CreateIotJobInput): Promise<{ jobId: string; jobArn: string }>;
  /** Moves one thing's execution; terminal executions refuse further changes (InvalidStateTransitionException). */
  updateExecution(
    jobId: string,
    thingName: string,
    status: JobExecutionStatus,
    statusDetails?: Record<string, string>,
  ): Promise<void>;
  cancelJob(
    jobId: string,
    options?: { reasonCode?: string; comment?: string; force?: boolean },
  ): Promise<void>;
  describe(jobId: string): Promise<Record<string, unknown> | undefined>;
  /** QUEUED and IN_PROGRESS executions of one thing, oldest first. */
  pendingFor(thingName: string): Promise<{ jobId: string; status: JobExecutionStatus; document: string }[]>;
  subscribe(listener: (event: IotJobEvent) => void): () => void;
  /** Thing names in a thing group (by name or ARN), recursively; empty when the group does not exist. */
  thingsInGroup(group: string): Promise<string[]>;
}

/**
 * The endpoint's services, built once at start. A service folder plugs in by exporting
 * `createService: ServiceFactory` from `local/<folder>/index.ts`; `startLocalEndpoint` loads every
 * such module after S3, IoT and SageMaker, and also takes extra factories in `services`.
 * Each factory gets its own context whose `stateDir` is `<state dir>/<folder>` (created for it).
 * A factory may return a handler with `services: []` when it only works in the background
 * (event routing, schedules, queues).
 */
export type ServiceFactory = (context: LocalContext) => ServiceHandler | Promise<ServiceHandler>;

export interface LocalContext {
  /** Where this endpoint serves, e.g. "http://127.0.0.1:4566" — handlers run in-process point their clients here. */
  endpointUrl?: string;
  /** Listen to every event emitted on the local bus (the EventBridge emulation routes them). Returns unsubscribe. */
  onEvent?(listener: (event: BusEvent) => Promise<void> | void): () => void;
  objects?: ObjectStoreApi;
  iotJobs?: IotJobsApi;
  /** Admin paths under `/_edge-mlops/` (loopback only), e.g. addAdminRoute("POST", "tick", …) for `edge-mlops local tick`. */
  addAdminRoute?(method: string, name: string, handler: (body: unknown) => Promise<unknown>): void;
}
