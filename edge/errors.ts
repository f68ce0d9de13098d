/** Error codes returned in per-request error responses; a client can switch on them. */
export type ErrorCode =
  | "BadRequest"
  | "UnknownOperation"
  | "ModelNotFound"
  | "ModelAlreadyLoaded"
  | "ModelLoadFailed"
  | "InvalidInput"
  | "InferenceFailed"
  | "Internal";

/** Base of every error the runtime turns into a response; carries its response code. */
export class InferenceRuntimeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "InferenceRuntimeError";
  }
}

export class BadRequestError extends InferenceRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super("BadRequest", message, options);
    this.name = "BadRequestError";
  }
}

export class ModelNotFoundError extends InferenceRuntimeError {
  constructor(model: string) {
    super("ModelNotFound", `model ${JSON.stringify(model)} is not loaded`);
    this.name = "ModelNotFoundError";
  }
}

export class ModelAlreadyLoadedError extends InferenceRuntimeError {
  constructor(model: string) {
    super("ModelAlreadyLoaded", `model ${JSON.stringify(model)} is already loaded; unload it first`);
    this.name = "ModelAlreadyLoadedError";
  }
}

export class ModelLoadError extends InferenceRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super("ModelLoadFailed", message, options);
    this.name = "ModelLoadError";
  }
}

export class InvalidInputError extends InferenceRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super("InvalidInput", message, options);
    this.name = "InvalidInputError";
  }
}

export class InferenceError extends InferenceRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super("InferenceFailed", message, options);
    this.name = "InferenceError";
  }
}

/** A request the client sent over the socket failed; thrown by the client with the server's code. */
export class InferenceRequestError extends Error {
  constructor(
    readonly code: ErrorCode | "ConnectionClosed",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "InferenceRequestError";
  }
}
