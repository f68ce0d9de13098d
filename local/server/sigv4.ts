/** What the SigV4 credential scope says about a request: `AKID/20240101/us-east-1/sagemaker/aws4_request`. */
export interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

const credentialPattern = /Credential=([^,\s]+)/;

export function parseScope(credential: string): CredentialScope | undefined {
  const parts = credential.split("/");
  if (parts.length < 5) return undefined;
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  if (!accessKeyId || !service) return undefined;
  return { accessKeyId, date, region, service };
}

/**
 * Finds the scope in the `Authorization` header (signed requests) or the `X-Amz-Credential` query
 * parameter (presigned URLs). The signature itself is not checked: dummy credentials are accepted.
 */
export function credentialScope(
  headers: Record<string, string | string[] | undefined>,
  query: URLSearchParams,
) {
  const auth = headers.authorization;
  const header = Array.isArray(auth) ? auth[0] : auth;
  if (header?.startsWith("AWS4-")) {
    const match = credentialPattern.exec(header);
    if (match?.[1]) return parseScope(match[1]);
  }
  const presigned = query.get("X-Amz-Credential");
  return presigned ? parseScope(presigned) : undefined;
}
