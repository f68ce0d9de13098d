import type { EdgeMlopsConfig } from "../../config/types.ts";
import { configFromJson } from "../../config/validate.ts";

let cached: { json: string | undefined; config: EdgeMlopsConfig } | undefined;

/**
 * The validated configuration from EDGE_MLOPS_CONFIG, parsed once per execution environment
 * (re-parsed only when the variable changes, which tests and the local endpoint do).
 */
export function deploymentConfig(env: NodeJS.ProcessEnv = process.env): EdgeMlopsConfig {
  const json = env.EDGE_MLOPS_CONFIG;
  if (cached?.json !== json || !cached) cached = { json, config: configFromJson(json) };
  return cached.config;
}
