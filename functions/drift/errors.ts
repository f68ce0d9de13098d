/** A baseline file is missing, unreadable, or not in Model Monitor's format. */
export class BaselineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BaselineError";
  }
}

/** A capture input (file, S3 object) could not be read at all — distinct from a bad record, which is quarantined. */
export class CaptureReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CaptureReadError";
  }
}

/** A serialized profile or sketch does not have the expected shape. */
export class ProfileFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProfileFormatError";
  }
}

/** A sample given to the baseline writer cannot be used (unknown format, no rows, no columns). */
export class SampleFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SampleFormatError";
  }
}

/** An SQS message body that is not an S3 event notification. */
export class MalformedNotificationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MalformedNotificationError";
  }
}
