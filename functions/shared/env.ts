/** Thrown at cold start when the function was deployed without a variable it needs. */
export class MissingEnvironmentError extends Error {
  constructor(readonly variable: string) {
    super(`environment variable ${variable} is not set`);
    this.name = "MissingEnvironmentError";
  }
}

/**
 * Reads a required environment variable; call at module load so a misconfigured function
 * fails at cold start, not mid-run.
 * @example const bucket = requireEnv("ARTIFACT_BUCKET");
 */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === "") throw new MissingEnvironmentError(name);
  return value;
}

/** Like requireEnv, but read when first used: lets one module serve handlers that need different variables. */
export function lazyEnv(name: string): () => string {
  let value: string | undefined;
  return () => {
    value ??= requireEnv(name);
    return value;
  };
}
