// Imported first by the deployment tests: handlers read these at call time, the logger at load.
import { ARTIFACT_BUCKET, EVENT_BUS, ROLE_ARN, testConfig } from "../fixtures/deployment/config.ts";

process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.AWS_REGION = "us-east-1";
process.env.AWS_ACCESS_KEY_ID = "test";
process.env.AWS_SECRET_ACCESS_KEY = "test";
process.env.EDGE_MLOPS_CONFIG = JSON.stringify(testConfig());
process.env.ARTIFACT_BUCKET = ARTIFACT_BUCKET;
process.env.SAGEMAKER_ROLE_ARN = ROLE_ARN;
process.env.EVENT_BUS_NAME = EVENT_BUS;
process.env.STATE_MACHINE_ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:edge-deployment";
