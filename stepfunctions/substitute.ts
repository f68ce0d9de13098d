import { readFileSync } from "node:fs";
import { edgeDeploymentAslPath } from "./edge-deployment.ts";

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

export class SubstitutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SubstitutionError";
  }
}

/** The state machine definition as it is in git, with its `${Key}` placeholders. */
export function readDefinitionText(path: string = edgeDeploymentAslPath): string {
  return readFileSync(path, "utf8");
}

/**
 * The distinct `${Key}`s a definition uses, sorted — the stack test compares them with the
 * substitutions the stack supplies.
 * @example substitutionKeysIn(readDefinitionText()) // ["CheckCompilationFunctionArn", …]
 */
export function substitutionKeysIn(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string))].sort();
}

/**
 * Replaces every `${Key}` as Step Functions' DefinitionSubstitutions does (plain text); a key the
 * text uses but `values` lacks is an error, so nothing reaches a run half-substituted.
 */
export function substitute(text: string, values: Readonly<Record<string, string>>): string {
  const missing = substitutionKeysIn(text).filter((k) => values[k] === undefined);
  if (missing.length > 0)
    throw new SubstitutionError(`no value for substitution key(s): ${missing.join(", ")}`);
  return text.replace(PLACEHOLDER, (_, key: string) => values[key] as string);
}
