/**
 * Prepares an ASL definition for the local engine: `${Key}` substitutions, every state visited
 * (Map and Parallel included), and Wait states turned into Tasks that sleep on the endpoint's
 * clock, because the engine's own Wait uses wall time only.
 */

export class DefinitionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DefinitionError";
  }
}

export type AslState = Record<string, unknown> & { Type: string };
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  [key: string]: unknown;
}

/** Replaces `${Key}` placeholders; a placeholder with no value is an error, as in CloudFormation. */
export function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new DefinitionError(`definition substitution \${${key}} has no value`);
    return v;
  });
}

export function parseDefinition(text: string): AslDefinition {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new DefinitionError(`definition is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const d = doc as AslDefinition;
  if (typeof d?.StartAt !== "string" || typeof d.States !== "object" || d.States === null)
    throw new DefinitionError("definition needs StartAt and States");
  return d;
}

/** Calls `visit` for every state, nested ones included. */
export function forEachState(
  def: { States: Record<string, AslState> },
  visit: (name: string, state: AslState) => void,
): void {
  for (const [name, state] of Object.entries(def.States)) {
    visit(name, state);
    const processor = (state.ItemProcessor ?? state.Iterator) as
      | { States: Record<string, AslState> }
      | undefined;
    if (processor?.States) forEachState(processor, visit);
    for (const branch of (state.Branches as Array<{ States: Record<string, AslState> }> | undefined) ?? [])
      forEachState(branch, visit);
  }
}

/** Resource of the Tasks that stand in for Wait states; the engine needs a well-formed ARN. */
export const WAIT_RESOURCE = "arn:aws:lambda:us-east-1:000000000000:function:edge-mlops-local-wait";

export interface PreparedDefinition {
  definition: AslDefinition;
  /** Original type of every state by name (Waits show as Wait in history though they run as Tasks). */
  stateTypes: Map<string, string>;
  /** Wait states by name, with how long each waits. */
  waits: Map<string, Pick<AslState, "Seconds" | "SecondsPath" | "Timestamp" | "TimestampPath">>;
  /** Task states by name with their Resource. */
  tasks: Map<string, string>;
  /** Retriers per state name (for scaling retry intervals to the clock). */
  retriers: Map<
    string,
    Array<{ IntervalSeconds?: number; BackoffRate?: number; MaxAttempts?: number; MaxDelaySeconds?: number }>
  >;
}

/** A copy of the definition the local engine can run with clock-driven waits. */
export function prepareDefinition(def: AslDefinition): PreparedDefinition {
  const copy = structuredClone(def);
  const stateTypes = new Map<string, string>();
  const waits: PreparedDefinition["waits"] = new Map();
  const tasks = new Map<string, string>();
  const retriers: PreparedDefinition["retriers"] = new Map();
  forEachState(copy, (name, state) => {
    if (stateTypes.has(name) && stateTypes.get(name) !== state.Type) {
      throw new DefinitionError(
        `state name ${name} is used for two different state types; the local engine keys overrides by name`,
      );
    }
    stateTypes.set(name, state.Type);
    if (Array.isArray(state.Retry)) retriers.set(name, state.Retry as []);
    if (state.Type === "Task") tasks.set(name, String(state.Resource));
    if (state.Type !== "Wait") return;
    const { Seconds, SecondsPath, Timestamp, TimestampPath } = state;
    waits.set(name, { Seconds, SecondsPath, Timestamp, TimestampPath });
    for (const k of ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]) delete state[k];
    // Wait passes its input through; a Task whose result is its input behaves the same. The clock decides; the engine times Tasks with a 32-bit timer, hence ~23 days.
    Object.assign(state, { Type: "Task", Resource: WAIT_RESOURCE, TimeoutSeconds: 2_000_000 });
  });
  return { definition: copy, stateTypes, waits, tasks, retriers };
}

/** Resolves a simple reference path (`$.a.b[0]`) against the state input, as Wait's *Path fields use. */
export function readPath(path: string, input: unknown): unknown {
  if (path === "$") return input;
  if (!path.startsWith("$.")) throw new DefinitionError(`path ${path} is not a reference path`);
  let cur: unknown = input;
  for (const part of path.slice(2).match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = part.startsWith("[")
      ? (cur as unknown[])[Number(part.slice(1, -1))]
      : (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Seconds a Wait state waits for this input at clock time `now`. */
export function waitSeconds(
  wait: Pick<AslState, "Seconds" | "SecondsPath" | "Timestamp" | "TimestampPath">,
  input: unknown,
  now: Date,
): number {
  if (typeof wait.Seconds === "number") return wait.Seconds;
  if (typeof wait.SecondsPath === "string") {
    const v = readPath(wait.SecondsPath, input);
    if (typeof v !== "number" || v < 0)
      throw new DefinitionError(`SecondsPath ${wait.SecondsPath} did not resolve to a non-negative number`);
    return v;
  }
  const ts =
    typeof wait.Timestamp === "string"
      ? wait.Timestamp
      : typeof wait.TimestampPath === "string"
        ? readPath(wait.TimestampPath, input)
        : undefined;
  const t = typeof ts === "string" ? Date.parse(ts) : Number.NaN;
  if (Number.isNaN(t))
    throw new DefinitionError("Wait state has no valid Seconds, SecondsPath, Timestamp or TimestampPath");
  return Math.max(0, (t - now.getTime()) / 1000);
}
