/**
 * A failure worth retrying (throttling, 5xx, network). The state machine's Retry matches this name,
 * so a handler turns such SDK errors into it and lets every other error reach the Catch.
 */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransientError";
  }
}

// Names AWS services use for throttling and server-side trouble across SageMaker, Greengrass, IoT, S3, SFN, EventBridge.
const TRANSIENT_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "SlowDown",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalServerException",
  "InternalServerError",
  "InternalFailure",
  "InternalError",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
]);

interface SdkErrorLike {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** True for throttling, 5xx and connection failures. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  if (typeof error !== "object" || error === null) return false;
  const e = error as SdkErrorLike;
  if (e.$retryable) return true;
  if (TRANSIENT_NAMES.has(e.name ?? "") || TRANSIENT_NAMES.has(e.code ?? "")) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429);
}

/** Maps an error for Step Functions: transient ones become TransientError, the rest pass unchanged. */
export function forStepFunctions(error: unknown): unknown {
  if (error instanceof TransientError || !isTransient(error)) return error;
  const e = error as Error;
  return new TransientError(`${e.name}: ${e.message}`, { cause: error });
}

/** The `name` of an SDK error (service exception class name), or undefined. */
export function errorName(error: unknown): string | undefined {
  return typeof error === "object" && error !== null ? (error as { name?: string }).name : undefined;
}
