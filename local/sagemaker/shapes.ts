import { AwsError, validation } from "../server/types.ts";

/** SageMaker's name pattern for groups and jobs. */
export const namePattern = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export function requireName(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0)
    throw validation(
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  if (!namePattern.test(value))
    throw validation(
      `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`,
    );
  return value;
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0)
    throw validation(
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

export function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !allowed.includes(value as T))
    throw validation(
      `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(", ")}]`,
    );
  return value as T;
}

/** awsJson timestamps are epoch seconds. */
export const epoch = (iso: string | undefined) =>
  iso === undefined ? undefined : new Date(iso).getTime() / 1000;

/** Reads an awsJson timestamp input (epoch seconds, or ISO text as some clients send). */
export function timestampInput(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") return value * 1000;
  if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return Date.parse(value);
  throw validation(`${field} must be a timestamp`);
}

/**
 * Offset pagination with an opaque token, as the List* operations page.
 * @example const { page, NextToken } = paginate(items, input.MaxResults, input.NextToken);
 */
export function paginate<T>(
  items: T[],
  maxResults: unknown,
  nextToken: unknown,
  defaultMax = 10,
  limit = 100,
) {
  const max = maxResults === undefined ? defaultMax : Number(maxResults);
  if (!Number.isInteger(max) || max < 1 || max > limit)
    throw validation(
      `1 validation error detected: Value '${String(maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and ${limit}`,
    );
  let start = 0;
  if (nextToken !== undefined && nextToken !== null && nextToken !== "") {
    const decoded = Number(
      Buffer.from(String(nextToken), "base64url")
        .toString("utf8")
        .replace(/^offset:/, ""),
    );
    if (!Number.isInteger(decoded) || decoded < 0)
      throw new AwsError("ValidationException", "Invalid pagination token", 400);
    start = decoded;
  }
  const page = items.slice(start, start + max);
  const next =
    start + max < items.length ? Buffer.from(`offset:${start + max}`).toString("base64url") : undefined;
  return { page, NextToken: next };
}

export function sortBy<T>(
  items: T[],
  key: (item: T) => string | number,
  order: "Ascending" | "Descending" = "Ascending",
): T[] {
  const sorted = [...items].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return order === "Descending" ? sorted.reverse() : sorted;
}
