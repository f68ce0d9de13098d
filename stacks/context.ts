import type { EdgeMlopsConfig } from "../config/types.ts";

/*
 * SST stack functions take only a StackContext, so the validated configuration reaches them
 * through this holder: sst.config.ts (or a stack test) provides it once before the stacks run.
 */
let current: EdgeMlopsConfig | undefined;

export class ConfigNotProvidedError extends Error {
  constructor() {
    super("the edge-mlops configuration was not provided before the stacks were built");
    this.name = "ConfigNotProvidedError";
  }
}

export function provideConfig(config: EdgeMlopsConfig): void {
  current = config;
}

export function useConfig(): EdgeMlopsConfig {
  if (!current) throw new ConfigNotProvidedError();
  return current;
}
