import { validation } from "../server/types.ts";

export interface S3Location {
  bucket: string;
  key: string;
}

/** Splits `s3://bucket/key`; a bad URI is the caller's input error. */
export function parseS3Uri(uri: string, field: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match?.[1]) throw validation(`${field} must be an s3:// URI, got "${uri}"`);
  return { bucket: match[1], key: match[2] ?? "" };
}

export const joinKey = (prefix: string, name: string) =>
  prefix === "" || prefix.endsWith("/") ? `${prefix}${name}` : `${prefix}/${name}`;
