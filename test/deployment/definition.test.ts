import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  defaultValueSubstitutions,
  taskFunctionKeys,
  taskFunctions,
  waitStates,
} from "../../stepfunctions/edge-deployment.ts";
import { prepareEdgeDeployment } from "../../stepfunctions/run-local.ts";
import { readDefinitionText, substitute, substitutionKeysIn } from "../../stepfunctions/substitute.ts";

const validate = createRequire(import.meta.url)("asl-validator") as (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: () => string };

type State = Record<string, unknown> & { Type: string; ItemProcessor?: { States: Record<string, State> } };
function flatten(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, s]) => [
    [name, s] as [string, State],
    ...(s.ItemProcessor ? flatten(s.ItemProcessor.States) : []),
  ]);
}

const text = readDefinitionText();
const values = {
  ...defaultValueSubstitutions,
  ...Object.fromEntries(
    taskFunctionKeys.map((k) => [k, `arn:aws:lambda:us-east-1:000000000000:function:${k}`]),
  ),
};
const definition = JSON.parse(substitute(text, values)) as {
  TimeoutSeconds?: number;
  QueryLanguage?: string;
  States: Record<string, State>;
};
const states = flatten(definition.States);

describe("edge-deployment.asl.json", () => {
  it("uses exactly the task function keys and the poll-interval keys", () => {
    expect(substitutionKeysIn(text)).toEqual(
      [...taskFunctionKeys, ...Object.keys(defaultValueSubstitutions)].sort(),
    );
  });

  it("is valid ASL once substituted (asl-validator)", () => {
    // The validator fills defaults (QueryLanguage) into what it is given, so it gets its own copy.
    const result = validate(structuredClone(definition), { checkPaths: true, checkArn: true });
    expect(result.errorsText()).toBe("");
    expect(result.isValid).toBe(true);
  });

  it("is JSONPath only: no JSONata, no Variables", () => {
    expect(definition.QueryLanguage).toBeUndefined();
    for (const [name, state] of states) {
      for (const field of ["QueryLanguage", "Assign", "Arguments", "Output"])
        expect(state[field], `${name}.${field}`).toBeUndefined();
    }
    expect(text).not.toMatch(/\{%/);
  });

  it("has an execution timeout, and every Task a timeout, Lambda + TransientError retries and a Catch", () => {
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    const tasks = states.filter(([, s]) => s.Type === "Task");
    expect(tasks.length).toBe(11);
    for (const [name, state] of tasks) {
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      const retried = (state.Retry as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
      expect(retried, name).toEqual(
        expect.arrayContaining([
          "Lambda.TooManyRequestsException",
          "Lambda.ServiceException",
          "Lambda.SdkClientException",
          "TransientError",
        ]),
      );
      // Map iteration errors are caught by the Map state itself.
      if (!["StartCompilation", "CheckCompilation"].includes(name)) expect(state.Catch, name).toBeDefined();
    }
  });

  it("every Wait state is in waitStates, so local runs can scale it", () => {
    const waits = states.filter(([, s]) => s.Type === "Wait").map(([n]) => n);
    expect(waits.sort()).toEqual(Object.keys(waitStates).sort());
  });

  it("the local runner binds every Task state to a task function key", () => {
    const { overrides } = prepareEdgeDeployment({ invokeTask: async () => ({}), waitScale: 0 });
    const tasks = states.filter(([, s]) => s.Type === "Task").map(([n]) => n);
    expect(Object.keys(overrides.taskResourceLocalHandlers).sort()).toEqual(tasks.sort());
    expect(Object.values(overrides.waitTimeOverrides)).toEqual([0, 0, 0]);
    expect(Object.keys(taskFunctions)).toEqual(taskFunctionKeys);
  });
});
