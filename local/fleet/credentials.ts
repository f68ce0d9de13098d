import { S3Client } from "@aws-sdk/client-s3";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import type { AwsCredentialIdentityProvider } from "@smithy/types";

export interface TokenExchange {
  /** The token exchange service URL a Greengrass nucleus hands its components (AWS_CONTAINER_CREDENTIALS_FULL_URI). */
  credentialsUri: string;
  /** The device's token (AWS_CONTAINER_AUTHORIZATION_TOKEN). */
  token: string;
}

/**
 * What the SDK's default chain does with AWS_CONTAINER_CREDENTIALS_FULL_URI and
 * AWS_CONTAINER_AUTHORIZATION_TOKEN, for one device: in-process devices share process.env, so
 * each gets the provider built with its own token instead.
 */
export function tokenExchangeCredentials(exchange: TokenExchange): AwsCredentialIdentityProvider {
  return fromHttp({
    awsContainerCredentialsFullUri: exchange.credentialsUri,
    awsContainerAuthorizationToken: exchange.token,
    maxRetries: 2,
  });
}

/** The environment a nucleus gives a component process (for devices run as child processes). */
export function tokenExchangeEnv(exchange: TokenExchange): Record<string, string> {
  return {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: exchange.credentialsUri,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: exchange.token,
  };
}

/**
 * A device's S3 client: the local endpoint, path-style, credentials from the token exchange.
 * @example const s3 = deviceS3Client("http://127.0.0.1:4566", "us-east-1", { credentialsUri, token });
 */
export function deviceS3Client(endpointUrl: string, region: string, exchange: TokenExchange): S3Client {
  return new S3Client({
    endpoint: endpointUrl,
    region,
    forcePathStyle: true,
    credentials: tokenExchangeCredentials(exchange),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 5,
  });
}
