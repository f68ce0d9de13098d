import { Stack } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import type { EdgeMlopsConfig } from "../../config/types.ts";
import { arns } from "./arns.ts";
import { addGrants, allow, type Grant } from "./nag.ts";
import { artifactPrefixes } from "./pipeline-permissions.ts";

/**
 * The role Neo compilation (and legacy edge packaging) jobs run as, when the configuration does not
 * name one. It reads model artifacts from the artifact bucket and SageMaker's default bucket
 * (`sagemaker-<region>-<account>`, where the SageMaker SDK puts training output) and writes only
 * the prefixes SageMaker writes to. Models kept elsewhere need `sageMakerRoleArn` in the configuration.
 */
export function createSageMakerRole(
  scope: Construct,
  artifactBucket: IBucket,
  config: EdgeMlopsConfig,
): Role {
  const { partition, region, account } = Stack.of(scope);
  const a = arns(scope);
  const defaultBucket = `arn:${partition}:s3:::sagemaker-${region}-${account}`;
  const role = new Role(scope, "SageMakerExecutionRole", {
    assumedBy: new ServicePrincipal("sagemaker.amazonaws.com", {
      conditions: { StringEquals: { "aws:SourceAccount": account } },
    }),
    description: "edge-mlops: SageMaker Neo compilation and edge packaging jobs",
  });
  const grants: Grant[] = [
    allow(["s3:GetObject"], [artifactBucket.arnForObjects("*"), `${defaultBucket}/*`], {
      wildcardReason:
        "Model artifacts are whatever ModelDataUrl the approved package names in these two buckets.",
    }),
    allow(["s3:ListBucket"], [artifactBucket.bucketArn, defaultBucket]),
    allow(
      ["s3:PutObject"],
      [
        artifactBucket.arnForObjects(`${artifactPrefixes.compiled}*`),
        artifactBucket.arnForObjects(`${artifactPrefixes.edgePackaging}*`),
      ],
      { wildcardReason: "Neo and packaging output keys carry group, version and target." },
    ),
    allow(
      ["sagemaker:DescribeModelPackage"],
      config.groups.map((g) => a.modelPackages(g.modelPackageGroupName)),
      {
        wildcardReason: "Compiles any version of the configured model package groups.",
      },
    ),
    allow(
      ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
      [a.sageMakerLogGroup("CompilationJobs"), a.sageMakerLogGroup("EdgePackagingJobs")],
      { wildcardReason: "Log streams of SageMaker's own job log groups are named per job." },
    ),
  ];
  const edgeComponents = config.groups
    .filter((g) => g.packagingStrategy === "edge-packaging-job")
    .map((g) => g.componentName);
  if (edgeComponents.length > 0) {
    // With the GreengrassV2Component preset, SageMaker creates the component as this role.
    grants.push(
      allow(
        ["greengrass:CreateComponentVersion", "greengrass:DescribeComponent"],
        edgeComponents.flatMap((c) => [a.component(c), a.componentVersions(c)]),
        {
          wildcardReason: "Any version of the configured legacy-packaged components.",
        },
      ),
    );
  }
  addGrants(role, grants);
  return role;
}
