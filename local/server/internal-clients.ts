import { internalHeader } from "./http.ts";

// Any non-empty pair works: the endpoint reads only the credential scope, never checks signatures.
export const dummyCredentials = {
  accessKeyId: "edge-mlops-local",
  secretAccessKey: "edge-mlops-local",
} as const;

interface MiddlewareStackLike {
  add(
    middleware: (
      next: (args: { request: unknown }) => Promise<unknown>,
    ) => (args: { request: unknown }) => Promise<unknown>,
    options: { step: "build"; name: string },
  ): void;
}

/**
 * Configuration for an SDK client one local service uses to call another through the endpoint
 * (an edge packaging job creating a Greengrass component, the compiler reading S3). Such calls
 * carry a header that exempts them from fault injection: a fault is meant for the code under test.
 * @example const s3 = internal(new S3Client(internalConfig(ctx.endpointUrl, ctx.region, { forcePathStyle: true })));
 */
export function internalConfig<T extends object>(endpoint: string, region: string, extra?: T) {
  return { endpoint, region, credentials: dummyCredentials, maxAttempts: 3, ...extra };
}

export function internal<C extends { middlewareStack: object }>(client: C): C {
  (client.middlewareStack as unknown as MiddlewareStackLike).add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers[internalHeader] = "1";
      return next(args);
    },
    { step: "build", name: "edgeMlopsInternalHeader" },
  );
  return client;
}
