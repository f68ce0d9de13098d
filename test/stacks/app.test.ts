import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approvalEventPattern, redeployScheduleInput } from "../../events/patterns.ts";
import { aslFile, pollSeconds, startDeploymentEntry } from "../../stacks/DeploymentPipeline.ts";
import { deploymentIotActions } from "../../stacks/lib/pipeline-permissions.ts";
import { aggregateDriftEntry, analyzeCaptureEntry } from "../../stacks/Monitoring.ts";
import { taskFunctionKeys, taskFunctions } from "../../stepfunctions/edge-deployment.ts";
import { substitute, substitutionKeysIn } from "../../stepfunctions/substitute.ts";
import { stackTestConfig as config } from "./fixtures.ts";
import { type SynthesizedApp, synthApp } from "./synth.ts";
import {
  actionsOf,
  asList,
  type CfnResource,
  identityStatements,
  logicalId,
  resources,
} from "./template-helpers.ts";

type AslValidator = (definition: unknown) => { isValid: boolean; errorsText(separator?: string): string };
const aslValidator = createRequire(import.meta.url)("asl-validator") as AslValidator;

// One synth for the whole file, with real esbuild bundles of every handler (the CPU-heavy part).
let synth: SynthesizedApp;
let storage: Template;
let pipeline: Template;
let monitoring: Template;
beforeAll(async () => {
  synth = await synthApp(config, { bundle: true });
  storage = synth.template("Storage");
  pipeline = synth.template("DeploymentPipeline");
  monitoring = synth.template("Monitoring");
}, 240_000);
afterAll(() => synth?.dispose());

const all = () => [storage, pipeline, monitoring];
const projectFunctions = (template: Template) =>
  Object.entries(resources(template, "AWS::Lambda::Function")).filter(
    ([, fn]) =>
      (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
        ?.POWERTOOLS_SERVICE_NAME,
  );
const envOf = (fn: CfnResource) =>
  (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
const functionResource = (template: Template, prefix: string): CfnResource => {
  const fn = resources(template, "AWS::Lambda::Function")[
    logicalId(template, "AWS::Lambda::Function", prefix)
  ];
  if (!fn) throw new Error(`no function ${prefix}`);
  return fn;
};
const roleOfFunction = (template: Template, prefix: string) =>
  (functionResource(template, prefix).Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
/** Actions of a function's role other than its own logs and X-Ray, which every function has. */
const callsOf = (template: Template, fnPrefix: string) =>
  [...actionsOf(template, roleOfFunction(template, fnPrefix))]
    .filter(
      (a) =>
        ![
          "logs:CreateLogStream",
          "logs:PutLogEvents",
          "xray:PutTraceSegments",
          "xray:PutTelemetryRecords",
        ].includes(a),
    )
    .sort();

describe("Storage", () => {
  it("creates encrypted, TLS-only, private buckets with access logs to the log bucket", () => {
    const buckets = resources(storage, "AWS::S3::Bucket");
    const logBucket = logicalId(storage, "AWS::S3::Bucket", "AccessLogs");
    expect(
      Object.keys(buckets)
        .map((id) => id.replace(/[0-9A-F]{8}$/, ""))
        .sort(),
    ).toEqual(["AccessLogs", "Artifacts", "Capture", "Results"]);
    for (const [id, bucket] of Object.entries(buckets)) {
      expect(bucket.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      });
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      if (id !== logBucket) {
        expect(bucket.Properties.LoggingConfiguration).toMatchObject({
          DestinationBucketName: { Ref: logBucket },
        });
      }
      expect((bucket.Properties.LifecycleConfiguration as { Rules: unknown[] }).Rules.length).toBeGreaterThan(
        0,
      );
    }
    const policies = Object.values(resources(storage, "AWS::S3::BucketPolicy"));
    expect(policies).toHaveLength(4);
    for (const policy of policies) {
      expect((policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Action: "s3:*",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      );
    }
  });

  it("versions the artifact and results buckets", () => {
    for (const name of ["Artifacts", "Results"]) {
      const bucket = resources(storage, "AWS::S3::Bucket")[logicalId(storage, "AWS::S3::Bucket", name)];
      expect(bucket?.Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
    }
  });

  it("creates the project's event bus named after the stage", () => {
    storage.hasResourceProperties("AWS::Events::EventBus", { Name: "test-edge-mlops-events" });
  });
});

describe("Lambda functions", () => {
  it("runs every project function on nodejs22.x, arm64, traced, with its own log group", () => {
    const fns = [...projectFunctions(pipeline), ...projectFunctions(monitoring)];
    expect(fns).toHaveLength(taskFunctionKeys.length + 3);
    for (const [, fn] of fns) {
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs22.x",
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
    }
  });

  it("creates one function per taskFunctions entry, pointing at that handler, plus start-deployment", () => {
    const handlers = projectFunctions(pipeline)
      .map(([, fn]) => fn.Properties.Handler)
      .sort();
    const expected = [...Object.values(taskFunctions), startDeploymentEntry]
      .map((entry) => entry.replace(/\.ts$/, ".handler"))
      .sort();
    expect(handlers).toEqual(expected);
  });

  it("bundles each handler as ESM with a createRequire banner (the bundled AWS SDK needs require)", () => {
    const bundles = readdirSync(synth.artifactsDir, { recursive: true, encoding: "utf8" }).filter((f) =>
      f.endsWith(".mjs"),
    );
    expect(bundles).toHaveLength(taskFunctionKeys.length + 3);
    for (const file of bundles) {
      const head = readFileSync(path.join(synth.artifactsDir, file), "utf8").slice(0, 400);
      expect(head).toMatch(
        /import \{ createRequire as \w+ \} from 'module';\s*const require = \w+\(import\.meta\.url\);/,
      );
    }
  });

  it("loads every bundle in plain Node (no dynamic-require failure) and finds its handler", () => {
    const bundles = readdirSync(synth.artifactsDir, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".mjs"))
      .map((f) => pathToFileURL(path.join(synth.artifactsDir, f)).href);
    // A child process, as Lambda would: module-scope code runs (clients, requireEnv) without the test's loaders.
    const script = `for (const url of ${JSON.stringify(bundles)}) {
      const mod = await import(url);
      if (typeof mod.handler !== "function") throw new Error(url + " exports no handler");
    }
    console.log("loaded", ${bundles.length});`;
    const dummy = {
      ARTIFACT_BUCKET: "a",
      CAPTURE_BUCKET: "c",
      CAPTURE_PREFIX: "capture/",
      RESULTS_BUCKET: "r",
    };
    const env = {
      ...dummy,
      EVENT_BUS_NAME: "b",
      STATE_MACHINE_ARN: "arn:aws:states:us-east-1:1:stateMachine:s",
    };
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: "us-east-1",
        SAGEMAKER_ROLE_ARN: "arn:aws:iam::1:role/r",
        EDGE_MLOPS_CONFIG: JSON.stringify(config),
        ...env,
      },
      encoding: "utf8",
    });
    expect(out.trim()).toBe(`loaded ${taskFunctionKeys.length + 3}`);
  });

  it("hands the pipeline functions the validated configuration and the resources they name", () => {
    for (const [, fn] of projectFunctions(pipeline)) {
      const env = envOf(fn);
      expect(JSON.parse(env.EDGE_MLOPS_CONFIG as string)).toEqual(config);
      expect(Object.keys(env)).toEqual(
        expect.arrayContaining(["ARTIFACT_BUCKET", "EVENT_BUS_NAME", "SAGEMAKER_ROLE_ARN"]),
      );
    }
    const start = resources(pipeline, "AWS::Lambda::Function")[
      logicalId(pipeline, "AWS::Lambda::Function", "StartDeployment")
    ];
    expect(envOf(start as CfnResource).STATE_MACHINE_ARN).toEqual({
      Ref: logicalId(pipeline, "AWS::StepFunctions::StateMachine", "EdgeDeployment"),
    });
  });
});

describe("DeploymentPipeline: state machine", () => {
  const machine = () =>
    Object.values(resources(pipeline, "AWS::StepFunctions::StateMachine"))[0] as CfnResource;
  const definition = () => machine().Properties.DefinitionString as string;

  it("uses the ASL file unchanged as its definition", () => {
    expect(definition()).toBe(readFileSync(aslFile(), "utf8"));
  });

  it("supplies exactly the placeholder keys the ASL file uses", () => {
    const supplied = Object.keys(machine().Properties.DefinitionSubstitutions as object);
    expect([...supplied].sort()).toEqual(substitutionKeysIn(definition()));
  });

  it("maps each function key to that function's ARN and the poll keys to seconds", () => {
    const subs = machine().Properties.DefinitionSubstitutions as Record<string, unknown>;
    for (const key of taskFunctionKeys) {
      const id = logicalId(pipeline, "AWS::Lambda::Function", key.replace(/FunctionArn$/, ""));
      expect(subs[key]).toEqual({ "Fn::GetAtt": [id, "Arn"] });
    }
    for (const [key, seconds] of Object.entries(pollSeconds)) expect(subs[key]).toBe(String(seconds));
  });

  it("passes asl-validator once substituted, and bounds the execution with TimeoutSeconds", () => {
    const values = Object.fromEntries([
      ...taskFunctionKeys.map((k) => [k, `arn:aws:lambda:us-east-1:111122223333:function:${k}`]),
      ...Object.entries(pollSeconds).map(([k, v]) => [k, String(v)]),
    ]);
    const parsed = JSON.parse(substitute(definition(), values));
    const result = aslValidator(parsed);
    expect(result.errorsText("\n")).toBe("");
    expect(result.isValid).toBe(true);
    expect(parsed.TimeoutSeconds).toBeGreaterThan(0);
  });

  it("logs ALL levels without execution data and traces with X-Ray", () => {
    expect(machine().Properties).toMatchObject({
      StateMachineType: "STANDARD",
      LoggingConfiguration: { Level: "ALL", IncludeExecutionData: false },
      TracingConfiguration: { Enabled: true },
    });
  });

  it("lets its role invoke exactly the task functions and their versions", () => {
    const role = (machine().Properties.RoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const invoke = identityStatements(pipeline).filter(
      (s) => s.role === role && asList(s.statement.Action).includes("lambda:InvokeFunction"),
    );
    expect(invoke).toHaveLength(1);
    const expected = taskFunctionKeys.flatMap((key) => {
      const arn = {
        "Fn::GetAtt": [logicalId(pipeline, "AWS::Lambda::Function", key.replace(/FunctionArn$/, "")), "Arn"],
      };
      return [arn, { "Fn::Join": ["", [arn, ":*"]] }];
    });
    expect(asList(invoke[0]?.statement.Resource)).toEqual(expect.arrayContaining(expected));
    expect(asList(invoke[0]?.statement.Resource)).toHaveLength(expected.length);
  });
});

describe("DeploymentPipeline: triggers", () => {
  it("routes the approval pattern from events/ to start-deployment with retries and a DLQ", () => {
    const rules = Object.values(resources(pipeline, "AWS::Events::Rule"));
    expect(rules).toHaveLength(1);
    const rule = rules[0] as CfnResource;
    expect(rule.Properties.EventPattern).toEqual(approvalEventPattern(config));
    expect(rule.Properties.EventBusName).toBeUndefined(); // SageMaker publishes on the default bus
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { "Fn::GetAtt": [logicalId(pipeline, "AWS::Lambda::Function", "StartDeployment"), "Arn"] },
        DeadLetterConfig: {
          Arn: { "Fn::GetAtt": [logicalId(pipeline, "AWS::SQS::Queue", "ApprovalDlq"), "Arn"] },
        },
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
      }),
    ]);
  });

  it("schedules the redeploy with the configured expression, the events/ payload and a DLQ", () => {
    const schedule = resources(pipeline, "AWS::Scheduler::Schedule").RedeploySchedule as CfnResource;
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: config.redeploySchedule,
      ScheduleExpressionTimezone: "UTC",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: {
        Arn: { "Fn::GetAtt": [logicalId(pipeline, "AWS::Lambda::Function", "StartDeployment"), "Arn"] },
        Input: redeployScheduleInput,
        DeadLetterConfig: {
          Arn: { "Fn::GetAtt": [logicalId(pipeline, "AWS::SQS::Queue", "RedeployScheduleDlq"), "Arn"] },
        },
        RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
      },
    });
    const role = (schedule.Properties.Target as { RoleArn: { "Fn::GetAtt": [string] } }).RoleArn[
      "Fn::GetAtt"
    ][0];
    expect(
      identityStatements(pipeline)
        .filter((s) => s.role === role)
        .map((s) => s.statement),
    ).toEqual([
      expect.objectContaining({
        Action: "lambda:InvokeFunction",
        Resource: { "Fn::GetAtt": [logicalId(pipeline, "AWS::Lambda::Function", "StartDeployment"), "Arn"] },
      }),
      expect.objectContaining({
        Action: "sqs:SendMessage",
        Resource: { "Fn::GetAtt": [logicalId(pipeline, "AWS::SQS::Queue", "RedeployScheduleDlq"), "Arn"] },
      }),
    ]);
  });
});

describe("IAM", () => {
  it("has no wildcard action anywhere", () => {
    for (const template of all()) {
      for (const { statement } of identityStatements(template)) {
        for (const action of asList(statement.Action)) expect(action).not.toContain("*");
      }
    }
  });

  it("uses Resource * only for actions without resource-level permissions", () => {
    const resourceless = new Set([
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
      "sagemaker:ListModelPackages",
      "greengrass:ListDeployments",
      "greengrass:CreateDeployment",
      "s3:PutBucketNotification", // CDK's bucket-notification custom resource
    ]);
    for (const template of all()) {
      for (const { statement } of identityStatements(template)) {
        if (asList(statement.Resource).includes("*")) {
          for (const action of asList(statement.Action)) expect(resourceless).toContain(action);
        }
      }
    }
  });

  it("passes only the SageMaker role, only to SageMaker", () => {
    const passes = identityStatements(pipeline).filter((s) =>
      asList(s.statement.Action).includes("iam:PassRole"),
    );
    expect(passes.length).toBeGreaterThan(0);
    const sageMakerRole = logicalId(pipeline, "AWS::IAM::Role", "SageMakerExecutionRole");
    for (const { statement } of passes) {
      expect(statement.Action).toBe("iam:PassRole");
      expect(statement.Resource).toEqual({ "Fn::GetAtt": [sageMakerRole, "Arn"] });
      expect(statement.Condition).toEqual({
        StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" },
      });
    }
    expect(passes.map((p) => p.role).sort()).toEqual(
      [roleOfFunction(pipeline, "StartCompilation"), roleOfFunction(pipeline, "StartPackaging")].sort(),
    );
  });

  it("gives each pipeline function exactly the actions its handler calls", () => {
    const readDeployments = ["greengrass:GetDeployment", "greengrass:ListDeployments"];
    const createDeployments = [
      "greengrass:CreateDeployment",
      "greengrass:TagResource",
      ...deploymentIotActions,
    ];
    const expected: Record<string, string[]> = {
      ResolveModelPackage: ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
      StartCompilation: [
        "iam:PassRole",
        "sagemaker:AddTags",
        "sagemaker:CreateCompilationJob",
        "sagemaker:DescribeCompilationJob",
        "sagemaker:DescribeModelPackage",
      ],
      CheckCompilation: ["sagemaker:DescribeCompilationJob"],
      StartPackaging: [
        "greengrass:CreateComponentVersion",
        "greengrass:DescribeComponent",
        "greengrass:GetComponent",
        "greengrass:TagResource",
        "iam:PassRole",
        "s3:GetObject",
        "s3:PutObject",
        "sagemaker:AddTags",
        "sagemaker:CreateEdgePackagingJob",
        "sagemaker:DescribeCompilationJob",
        "sagemaker:DescribeEdgePackagingJob",
      ],
      CheckPackaging: ["greengrass:DescribeComponent", "sagemaker:DescribeEdgePackagingJob"],
      DeployStage: [...readDeployments, ...createDeployments],
      CheckRollout: [...readDeployments, "iot:DescribeJob"],
      Rollback: [...readDeployments, ...createDeployments, "greengrass:CancelDeployment"],
      Notify: ["events:PutEvents"],
      StartDeployment: [
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "states:StartExecution",
      ],
    };
    for (const [fn, actions] of Object.entries(expected)) {
      expect({ fn, actions: callsOf(pipeline, fn) }).toEqual({ fn, actions: [...new Set(actions)].sort() });
    }
  });

  it("scopes S3 access to the exact buckets and prefixes", () => {
    const s3Resources = (template: Template, fn: string, action: string) =>
      identityStatements(template)
        .filter((s) => s.role === roleOfFunction(template, fn) && asList(s.statement.Action).includes(action))
        .flatMap((s) => asList(s.statement.Resource))
        .map((r) => JSON.stringify(r));
    const under = (prefix: string) => expect.stringMatching(new RegExp(`"/${prefix}/\\*"`));
    expect(s3Resources(pipeline, "StartPackaging", "s3:PutObject")).toEqual([under("components")]);
    expect(s3Resources(pipeline, "StartPackaging", "s3:GetObject")).toEqual([
      under("compiled"),
      under("components"),
    ]);
    expect(s3Resources(monitoring, "AnalyzeCapture", "s3:GetObject")).toEqual([
      under(config.capturePrefix),
      under("profiles"),
      under("quarantine"),
    ]);
    expect(s3Resources(monitoring, "AnalyzeCapture", "s3:PutObject")).toEqual([
      under("profiles"),
      under("quarantine"),
    ]);
    expect(s3Resources(monitoring, "AggregateDrift", "s3:PutObject")).toEqual([under("results")]);
    const listing = identityStatements(monitoring).filter(
      (s) =>
        s.role === roleOfFunction(monitoring, "AnalyzeCapture") &&
        asList(s.statement.Action).includes("s3:ListBucket"),
    );
    expect(listing.map((s) => s.statement.Condition)).toEqual([
      { StringLike: { "s3:prefix": ["profiles/*"] } },
    ]);
    expect(s3Resources(monitoring, "AggregateDrift", "s3:GetObject")).toEqual([
      under("profiles"),
      under("baselines"),
      under("results"),
    ]);
  });

  it("creates the SageMaker execution role for Neo when the configuration names none", () => {
    const role = logicalId(pipeline, "AWS::IAM::Role", "SageMakerExecutionRole");
    const trust = resources(pipeline, "AWS::IAM::Role")[role]?.Properties.AssumeRolePolicyDocument;
    expect(trust).toMatchObject({
      Statement: [
        {
          Action: "sts:AssumeRole",
          Principal: { Service: "sagemaker.amazonaws.com" },
          Condition: { StringEquals: { "aws:SourceAccount": expect.anything() } },
        },
      ],
    });
    expect([...actionsOf(pipeline, role)].sort()).toEqual([
      "greengrass:CreateComponentVersion",
      "greengrass:DescribeComponent",
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
      "sagemaker:DescribeModelPackage",
    ]);
  });

  it("gives the drift functions only their S3 prefixes and the bus", () => {
    expect(callsOf(monitoring, "AnalyzeCapture")).toEqual([
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
    ]);
    expect(callsOf(monitoring, "AggregateDrift")).toEqual([
      "events:PutEvents",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
    ]);
  });
});

describe("Monitoring", () => {
  const queue = (name: string) =>
    resources(monitoring, "AWS::SQS::Queue")[logicalId(monitoring, "AWS::SQS::Queue", name)] as CfnResource;

  it("sends capture ObjectCreated under the capture prefix to the queue", () => {
    monitoring.hasResourceProperties("Custom::S3BucketNotifications", {
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ["s3:ObjectCreated:*"],
            Filter: { Key: { FilterRules: [{ Name: "prefix", Value: `${config.capturePrefix}/` }] } },
            QueueArn: { "Fn::GetAtt": [logicalId(monitoring, "AWS::SQS::Queue", "CaptureQueue"), "Arn"] },
          },
        ],
      },
    });
  });

  it("redrives capture messages to a DLQ and keeps them invisible for six function timeouts", () => {
    const analyze = resources(monitoring, "AWS::Lambda::Function")[
      logicalId(monitoring, "AWS::Lambda::Function", "AnalyzeCapture")
    ];
    expect(queue("CaptureQueue").Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [logicalId(monitoring, "AWS::SQS::Queue", "CaptureDlq"), "Arn"] },
      maxReceiveCount: 5,
    });
    expect(queue("CaptureQueue").Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * (analyze?.Properties.Timeout as number),
    );
  });

  it("feeds analyze-capture in batches with partial batch failures", () => {
    monitoring.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      EventSourceArn: { "Fn::GetAtt": [logicalId(monitoring, "AWS::SQS::Queue", "CaptureQueue"), "Arn"] },
      FunctionName: { Ref: logicalId(monitoring, "AWS::Lambda::Function", "AnalyzeCapture") },
    });
    expect(
      resources(monitoring, "AWS::Lambda::Function")[
        logicalId(monitoring, "AWS::Lambda::Function", "AnalyzeCapture")
      ]?.Properties.Handler,
    ).toBe(analyzeCaptureEntry.replace(/\.ts$/, ".handler"));
  });

  it("schedules aggregate-drift from the configuration with a DLQ", () => {
    const schedule = resources(monitoring, "AWS::Scheduler::Schedule").DriftSchedule as CfnResource;
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: config.driftSchedule,
      Target: {
        Arn: { "Fn::GetAtt": [logicalId(monitoring, "AWS::Lambda::Function", "AggregateDrift"), "Arn"] },
        DeadLetterConfig: {
          Arn: { "Fn::GetAtt": [logicalId(monitoring, "AWS::SQS::Queue", "DriftScheduleDlq"), "Arn"] },
        },
      },
    });
    const role = (schedule.Properties.Target as { RoleArn: { "Fn::GetAtt": [string] } }).RoleArn[
      "Fn::GetAtt"
    ][0];
    expect(
      identityStatements(monitoring)
        .filter((s) => s.role === role)
        .map((s) => s.statement),
    ).toEqual([
      expect.objectContaining({
        Action: "lambda:InvokeFunction",
        Resource: { "Fn::GetAtt": [logicalId(monitoring, "AWS::Lambda::Function", "AggregateDrift"), "Arn"] },
      }),
      expect.objectContaining({
        Action: "sqs:SendMessage",
        Resource: { "Fn::GetAtt": [logicalId(monitoring, "AWS::SQS::Queue", "DriftScheduleDlq"), "Arn"] },
      }),
    ]);
    expect(JSON.parse((schedule.Properties.Target as { Input: string }).Input)).toMatchObject({
      windowHours: config.driftWindowHours,
    });
    expect(
      resources(monitoring, "AWS::Lambda::Function")[
        logicalId(monitoring, "AWS::Lambda::Function", "AggregateDrift")
      ]?.Properties.Handler,
    ).toBe(aggregateDriftEntry.replace(/\.ts$/, ".handler"));
  });

  it("encrypts every queue, refuses non-TLS access, and alarms on every DLQ", () => {
    for (const template of [pipeline, monitoring]) {
      const queues = resources(template, "AWS::SQS::Queue");
      for (const q of Object.values(queues)) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
      const policies = Object.values(resources(template, "AWS::SQS::QueuePolicy"));
      for (const id of Object.keys(queues)) {
        const policy = policies.find((p) => JSON.stringify(p.Properties.Queues).includes(`"${id}"`));
        if (!policy) throw new Error(`queue ${id} has no policy`);
        expect((policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual(
          expect.objectContaining({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        );
      }
      const dlqs = Object.keys(queues).filter((id) => /Dlq/.test(id));
      const alarmed = Object.values(resources(template, "AWS::CloudWatch::Alarm")).map(
        (a) =>
          (a.Properties.Dimensions as { Value: { "Fn::GetAtt": [string, string] } }[])[0]?.Value[
            "Fn::GetAtt"
          ][0],
      );
      expect(alarmed.sort()).toEqual(dlqs.sort());
    }
  });
});

describe("cdk-nag AwsSolutions", () => {
  it.each(["Storage", "DeploymentPipeline", "Monitoring"] as const)(
    "%s has no unsuppressed errors or warnings",
    (stack) => {
      expect(synth.findings(stack)).toEqual([]);
    },
  );

  it("records a reason for every suppression", () => {
    for (const template of all()) {
      for (const resource of Object.values(
        template.toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>,
      )) {
        const rules = (
          resource.Metadata?.cdk_nag as { rules_to_suppress?: { id: string; reason: string }[] } | undefined
        )?.rules_to_suppress;
        for (const rule of rules ?? []) expect(rule.reason.length).toBeGreaterThan(30);
      }
    }
  });
});
