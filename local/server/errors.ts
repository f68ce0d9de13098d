import type { ServerResponse } from "node:http";
import { AwsError, type WireProtocol } from "./types.ts";

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );

/** The error as the protocol's SDK parser expects it, so codes (and retries) classify as on AWS. */
export function errorBody(protocol: WireProtocol, error: AwsError, requestId: string) {
  const headers: Record<string, string> = { "x-amzn-requestid": requestId };
  switch (protocol) {
    case "awsJson1_0":
    case "awsJson1_1":
      headers["content-type"] = `application/x-amz-json-${protocol === "awsJson1_0" ? "1.0" : "1.1"}`;
      headers["x-amzn-errortype"] = error.code;
      return { headers, body: JSON.stringify({ __type: error.code, message: error.message }) };
    case "restJson1":
      headers["content-type"] = "application/json";
      headers["x-amzn-errortype"] = error.code;
      return { headers, body: JSON.stringify({ message: error.message }) };
    case "restXml":
      headers["content-type"] = "application/xml";
      headers["x-amz-request-id"] = requestId;
      return {
        headers,
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message><RequestId>${requestId}</RequestId></Error>`,
      };
    case "query":
      headers["content-type"] = "text/xml";
      return {
        headers,
        body: `<ErrorResponse><Error><Type>${error.status >= 500 ? "Receiver" : "Sender"}</Type><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
  }
}

export function writeError(
  res: ServerResponse,
  protocol: WireProtocol,
  error: AwsError,
  requestId: string,
): void {
  const { headers, body } = errorBody(protocol, error, requestId);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(error.status, { ...headers, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Anything a service throws that is not an AwsError is an internal failure (500, retried by SDKs). */
export function toAwsError(error: unknown): AwsError {
  if (error instanceof AwsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AwsError("InternalFailure", `internal error in the local endpoint: ${message}`, 500);
}
