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
