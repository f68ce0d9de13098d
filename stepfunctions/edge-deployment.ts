import { fileURLToPath } from "node:url";

/** The one state machine definition, relative to the repository root (what the stack reads at synth). */
export const edgeDeploymentAslFile = "stepfunctions/edge-deployment.asl.json";

/**
 * The same file as an absolute path, for code that runs from the source tree (tests, local endpoint).
 * Bundled code (the SST config) must resolve `edgeDeploymentAslFile` from the project root instead.
 */
export const edgeDeploymentAslPath = fileURLToPath(new URL("./edge-deployment.asl.json", import.meta.url));

/**
 * Every Task state's `Resource` is a `${Key}` naming one Lambda; this table says which handler
 * module serves it. The stack creates one function per entry, the local endpoint binds the
 * same module in-process. Paths are relative to the repository root; each exports `handler`.
 */
export const taskFunctions = {
  ResolveModelPackageFunctionArn: "functions/deployment/resolve-model-package.ts",
  StartCompilationFunctionArn: "functions/deployment/start-compilation.ts",
  CheckCompilationFunctionArn: "functions/deployment/check-compilation.ts",
  StartPackagingFunctionArn: "functions/deployment/start-packaging.ts",
  CheckPackagingFunctionArn: "functions/deployment/check-packaging.ts",
  DeployStageFunctionArn: "functions/deployment/deploy-stage.ts",
  CheckRolloutFunctionArn: "functions/deployment/check-rollout.ts",
  RollbackFunctionArn: "functions/deployment/rollback.ts",
  NotifyFunctionArn: "functions/deployment/notify.ts",
} as const;

export type TaskFunctionKey = keyof typeof taskFunctions;

/** Non-function substitutions (plain values). */
export type ValueSubstitutionKey = "CompilationPollSeconds" | "PackagingPollSeconds" | "RolloutPollSeconds";

export type SubstitutionKey = TaskFunctionKey | ValueSubstitutionKey;
export type DefinitionSubstitutions = Record<SubstitutionKey, string>;

export const taskFunctionKeys = Object.keys(taskFunctions) as TaskFunctionKey[];

/** Each Wait state and the substitution whose seconds it waits (through the plan's `poll` settings). */
export const waitStates: Record<string, ValueSubstitutionKey> = {
  WaitForCompilation: "CompilationPollSeconds",
  WaitForPackaging: "PackagingPollSeconds",
  WaitForRollout: "RolloutPollSeconds",
};

/** Poll intervals for a real AWS deployment; the local endpoint scales time instead of changing these. */
export const defaultValueSubstitutions: Record<ValueSubstitutionKey, string> = {
  CompilationPollSeconds: "60",
  PackagingPollSeconds: "15",
  RolloutPollSeconds: "30",
};
