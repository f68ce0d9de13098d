import { AwsError } from "../server/types.ts";

export const iotNotFound = (message: string) => new AwsError("ResourceNotFoundException", message, 404);
export const iotExists = (message: string) => new AwsError("ResourceAlreadyExistsException", message, 409);
export const iotInvalid = (message: string) => new AwsError("InvalidRequestException", message, 400);
export const iotBadTransition = (message: string) =>
  new AwsError("InvalidStateTransitionException", message, 409);

/** IoT pages with an opaque token as well; maxResults up to 250. */
export function page<T>(items: T[], maxResults: string | null, nextToken: string | null, limit = 250) {
  const max = maxResults === null ? limit : Number(maxResults);
  if (!Number.isInteger(max) || max < 1 || max > limit)
    throw iotInvalid(`maxResults must be between 1 and ${limit}`);
  let start = 0;
  if (nextToken) {
    start = Number(Buffer.from(nextToken, "base64url").toString("utf8"));
    if (!Number.isInteger(start) || start < 0) throw iotInvalid("invalid nextToken");
  }
  const next =
    start + max < items.length ? Buffer.from(String(start + max)).toString("base64url") : undefined;
  return { items: items.slice(start, start + max), nextToken: next };
}
