import { ListModelPackagesCommand, type SageMakerClient } from "@aws-sdk/client-sagemaker";
import { type SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { EdgeMlopsConfig } from "../../config/types.ts";
import {
  MODEL_PACKAGE_STATE_CHANGE,
  type ModelPackageStateChangeDetail,
  REDEPLOY_DETAIL_TYPE,
  SAGEMAKER_SOURCE,
} from "../../events/patterns.ts";
import { sageMaker as defaultSageMaker, stepFunctions as defaultStepFunctions } from "../shared/clients.ts";
import { errorName } from "../shared/errors.ts";
import { logger } from "../shared/handler.ts";
import { InvalidInputError } from "./errors.ts";
import { executionName, parseModelPackageArn } from "./names.ts";

export interface StarterDeps {
  config: EdgeMlopsConfig;
  stateMachineArn: string;
  sageMaker?: SageMakerClient;
  stepFunctions?: SFNClient;
}

export interface StartOutcome {
  started: { name: string; executionArn?: string; modelPackageArn: string }[];
  alreadyStarted: { name: string; modelPackageArn: string }[];
  skipped: { reason: string; group?: string }[];
}

export class StartDeploymentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StartDeploymentError";
  }
}

interface IncomingEvent {
  source?: string;
  "detail-type"?: string;
  time?: string;
  detail?: unknown;
}

/** YYYYMMDD of the schedule's run, so one run per day per version starts one execution. */
function runDate(time: string | undefined): string {
  const date = time ? new Date(time) : new Date();
  if (Number.isNaN(date.getTime()))
    throw new InvalidInputError(`schedule event time ${JSON.stringify(time)} is not a date`);
  return date.toISOString().slice(0, 10).replaceAll("-", "");
}

async function start(
  deps: StarterDeps,
  outcome: StartOutcome,
  name: string,
  input: { modelPackageArn: string; trigger: "approval" | "schedule" },
): Promise<void> {
  const stepFunctions = deps.stepFunctions ?? defaultStepFunctions;
  try {
    const started = await stepFunctions.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn,
        name,
        input: JSON.stringify(input),
      }),
    );
    outcome.started.push({
      name,
      executionArn: started.executionArn,
      modelPackageArn: input.modelPackageArn,
    });
  } catch (error) {
    // SageMaker may deliver an event twice and the schedule may fire again: the name makes that one execution.
    if (errorName(error) !== "ExecutionAlreadyExists") throw error;
    outcome.alreadyStarted.push({ name, modelPackageArn: input.modelPackageArn });
  }
}

/**
 * Starts deployments from an approval event (one package) or a schedule run (the latest Approved
 * package of every configured group). Execution names are deterministic, so duplicates start one.
 * On a schedule run one group's failure does not stop the others; failures are raised together at the end.
 */
export async function startDeployments(event: IncomingEvent, deps: StarterDeps): Promise<StartOutcome> {
  const outcome: StartOutcome = { started: [], alreadyStarted: [], skipped: [] };
  const configured = deps.config.groups.map((g) => g.modelPackageGroupName);

  if (event.source === SAGEMAKER_SOURCE && event["detail-type"] === MODEL_PACKAGE_STATE_CHANGE) {
    const detail = (event.detail ?? {}) as Partial<ModelPackageStateChangeDetail>;
    const parsed =
      typeof detail.ModelPackageArn === "string" ? parseModelPackageArn(detail.ModelPackageArn) : undefined;
    if (!parsed)
      throw new InvalidInputError(
        `approval event has no versioned ModelPackageArn (got ${JSON.stringify(detail.ModelPackageArn)})`,
      );
    if (detail.ModelApprovalStatus !== "Approved") {
      outcome.skipped.push({
        reason: `status ${detail.ModelApprovalStatus}, not Approved`,
        group: parsed.group,
      });
    } else if (!configured.includes(parsed.group)) {
      outcome.skipped.push({ reason: "group not configured", group: parsed.group });
    } else {
      await start(deps, outcome, executionName(parsed.group, parsed.version), {
        modelPackageArn: detail.ModelPackageArn as string,
        trigger: "approval",
      });
    }
    logger.info("approval event handled", { ...outcome });
    return outcome;
  }

  if (event["detail-type"] === REDEPLOY_DETAIL_TYPE || event["detail-type"] === "Scheduled Event") {
    const sageMaker = deps.sageMaker ?? defaultSageMaker;
    const date = runDate(event.time);
    const failures: string[] = [];
    for (const group of configured) {
      try {
        const listed = await sageMaker.send(
          new ListModelPackagesCommand({
            ModelPackageGroupName: group,
            ModelApprovalStatus: "Approved",
            SortBy: "CreationTime",
            SortOrder: "Descending",
            MaxResults: 1,
          }),
        );
        const latest = listed.ModelPackageSummaryList?.[0];
        const parsed = latest?.ModelPackageArn ? parseModelPackageArn(latest.ModelPackageArn) : undefined;
        if (!latest?.ModelPackageArn || !parsed) {
          outcome.skipped.push({ reason: "no Approved model package", group });
          continue;
        }
        await start(deps, outcome, executionName(group, parsed.version, date), {
          modelPackageArn: latest.ModelPackageArn,
          trigger: "schedule",
        });
      } catch (error) {
        logger.error("scheduled start failed", { group, error: error as Error });
        failures.push(`${group}: ${(error as Error).name}: ${(error as Error).message}`);
      }
    }
    logger.info("schedule run handled", { ...outcome, failures });
    if (failures.length > 0)
      throw new StartDeploymentError(
        `could not start ${failures.length} of ${configured.length} group(s): ${failures.join("; ")}`,
      );
    return outcome;
  }

  throw new InvalidInputError(
    `unsupported event: source ${JSON.stringify(event.source)}, detail-type ${JSON.stringify(event["detail-type"])}; expected a SageMaker model package state change or the redeploy schedule`,
  );
}
