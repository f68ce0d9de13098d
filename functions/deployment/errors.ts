/** Errors the deployment states raise on purpose. Their names are what the execution shows as Error. */

export class InvalidInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InvalidInputError";
  }
}

export class ModelPackageNotApprovedError extends Error {
  constructor(arn: string, status: string) {
    super(`model package ${arn} is ${status}, not Approved; approve it, or re-run with "force": true`);
    this.name = "ModelPackageNotApprovedError";
  }
}

export class NoApprovedModelPackageError extends Error {
  constructor(group: string) {
    super(`model package group ${group} has no Approved model package`);
    this.name = "NoApprovedModelPackageError";
  }
}

export class CompilationFailedError extends Error {
  constructor(jobName: string, status: string, reason: string | undefined) {
    super(`compilation job ${jobName} ${status}: ${reason ?? "no FailureReason given"}`);
    this.name = "CompilationFailedError";
  }
}

export class PackagingFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PackagingFailedError";
  }
}

/** A poll loop ran out of attempts; the job may still finish, but the execution stops waiting. */
export class PollLimitError extends Error {
  constructor(what: string, polls: number, seconds: number) {
    super(`${what} did not finish after ${polls} polls (${polls * seconds} s)`);
    this.name = "PollLimitError";
  }
}

export class DeploymentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DeploymentError";
  }
}

export class RollbackIncompleteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RollbackIncompleteError";
  }
}
