import type { IEventBus } from "aws-cdk-lib/aws-events";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import type { EdgeMlopsConfig } from "../../config/types.ts";
import type { TaskFunctionKey } from "../../stepfunctions/edge-deployment.ts";
import { arns } from "./arns.ts";
import { allow, type Grant } from "./nag.ts";

/** Where the pipeline keeps things in the artifact bucket. */
export const artifactPrefixes = {
  /** Neo output (written by SageMaker as the SageMaker role). */
  compiled: "compiled/",
  /** Greengrass component artifacts (written by start-packaging, read by devices). */
  components: "components/",
  /** Edge packaging job output (legacy strategy, written by SageMaker). */
  edgePackaging: "edge-packaging/",
} as const;

export interface PipelineResources {
  config: EdgeMlopsConfig;
  artifactBucket: IBucket;
  bus: IEventBus;
  sageMakerRoleArn: string;
}

export type PipelineFunctionKey = TaskFunctionKey | "StartDeployment";

/*
 * Greengrass CreateDeployment/CancelDeployment act through an IoT job and the devices' shadows,
 * so the caller also needs these IoT actions (AWS IoT Greengrass V2 service authorization reference,
 * "dependent actions").
 */
export const deploymentIotActions = [
  "iot:CreateJob",
  "iot:UpdateJob",
  "iot:CancelJob",
  "iot:DescribeJob",
  "iot:DescribeThing",
  "iot:DescribeThingGroup",
  "iot:GetThingShadow",
  "iot:UpdateThingShadow",
  "iot:DeleteThingShadow",
];

const NO_RESOURCE_LEVEL = "has no resource-level permissions in IAM, so Resource must be *.";

/**
 * The exact grants each pipeline Lambda needs for the calls its handler makes. Nothing is shared
 * between functions, so a bug in one cannot reach another's resources.
 */
export function pipelineGrants(scope: Construct, r: PipelineResources): Record<PipelineFunctionKey, Grant[]> {
  const a = arns(scope);
  const groups = r.config.groups;
  const components = [...new Set(groups.map((g) => g.componentName))];
  const thingGroups = [...new Set(groups.flatMap((g) => g.stages.map((s) => s.targetArn)))];
  const usesEdgePackaging = groups.some((g) => g.packagingStrategy === "edge-packaging-job");
  const objects = (prefix: string) => r.artifactBucket.arnForObjects(`${prefix}*`);

  const passSageMakerRole = allow(["iam:PassRole"], [r.sageMakerRoleArn], {
    conditions: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
  });
  const readModelPackages = allow(
    ["sagemaker:DescribeModelPackage"],
    groups.map((g) => a.modelPackages(g.modelPackageGroupName)),
    {
      wildcardReason:
        "Any version of a configured model package group; versions are created after deployment.",
    },
  );
  const listModelPackages = allow(["sagemaker:ListModelPackages"], ["*"], {
    wildcardReason: `sagemaker:ListModelPackages ${NO_RESOURCE_LEVEL}`,
  });
  const compilationJobs = (actions: string[]) =>
    allow(actions, [a.compilationJobs()], {
      wildcardReason: "Compilation job names derive from group, version and target at run time.",
    });
  const describeComponents = allow(
    ["greengrass:DescribeComponent"],
    components.map((c) => a.componentVersions(c)),
    { wildcardReason: "Any version of the configured components; versions follow model versions." },
  );
  const readDeployments = [
    allow(["greengrass:ListDeployments"], ["*"], {
      wildcardReason: `greengrass:ListDeployments ${NO_RESOURCE_LEVEL}`,
    }),
    allow(["greengrass:GetDeployment"], [a.deployments()], {
      wildcardReason: "Deployment ids are assigned by Greengrass at run time.",
    }),
  ];
  const createDeployments = [
    allow(["greengrass:CreateDeployment"], ["*"], {
      wildcardReason: `greengrass:CreateDeployment ${NO_RESOURCE_LEVEL} Its IoT side is limited to the configured thing groups.`,
    }),
    allow(deploymentIotActions, [a.iotJobs(), a.iotThings(), ...thingGroups], {
      wildcardReason:
        "Greengrass creates the deployment's IoT job (id assigned at run time) for the devices of the configured thing groups, whose members change over time.",
    }),
  ];
  // Tags given on create are authorised as sagemaker:AddTags / greengrass:TagResource as well.
  const startEdgePackaging = usesEdgePackaging
    ? [
        allow(
          ["sagemaker:CreateEdgePackagingJob", "sagemaker:DescribeEdgePackagingJob", "sagemaker:AddTags"],
          [a.edgePackagingJobs()],
          { wildcardReason: "Edge packaging job names derive from group, version and target at run time." },
        ),
      ]
    : [];
  const checkEdgePackaging = usesEdgePackaging
    ? [
        allow(["sagemaker:DescribeEdgePackagingJob"], [a.edgePackagingJobs()], {
          wildcardReason: "Edge packaging job names derive from group, version and target at run time.",
        }),
      ]
    : [];
  const tagDeployments = allow(["greengrass:TagResource"], [a.deployments()], {
    wildcardReason: "Tags the deployments it creates (execution and stage); ids are assigned at run time.",
  });

  return {
    StartDeployment: [readModelPackages, listModelPackages],
    ResolveModelPackageFunctionArn: [readModelPackages, listModelPackages],
    StartCompilationFunctionArn: [
      compilationJobs([
        "sagemaker:CreateCompilationJob",
        "sagemaker:DescribeCompilationJob",
        "sagemaker:AddTags",
      ]),
      readModelPackages,
      passSageMakerRole,
    ],
    CheckCompilationFunctionArn: [compilationJobs(["sagemaker:DescribeCompilationJob"])],
    StartPackagingFunctionArn: [
      compilationJobs(["sagemaker:DescribeCompilationJob"]),
      // HeadObject on the staged copy, GetObject + server-side CopyObject from Neo's output.
      allow(["s3:GetObject"], [objects(artifactPrefixes.compiled), objects(artifactPrefixes.components)], {
        wildcardReason: "Reads Neo output and the artifacts it stages; keys carry group, version and target.",
      }),
      allow(["s3:PutObject"], [objects(artifactPrefixes.components)], {
        wildcardReason:
          "Stages component artifacts under components/; keys carry component, version and target.",
      }),
      allow(
        ["greengrass:CreateComponentVersion", "greengrass:TagResource"],
        components.flatMap((c) => [a.component(c), a.componentVersions(c)]),
        { wildcardReason: "Creates and tags new versions of the configured components only." },
      ),
      // GetComponent: an existing version is adopted only if its recipe carries the same artifacts.
      allow(
        ["greengrass:DescribeComponent", "greengrass:GetComponent"],
        components.map((c) => a.componentVersions(c)),
        {
          wildcardReason: "Any version of the configured components; versions follow model versions.",
        },
      ),
      ...startEdgePackaging,
      ...(usesEdgePackaging ? [passSageMakerRole] : []),
    ],
    CheckPackagingFunctionArn: [describeComponents, ...checkEdgePackaging],
    DeployStageFunctionArn: [...readDeployments, ...createDeployments, tagDeployments],
    CheckRolloutFunctionArn: [
      ...readDeployments,
      allow(["iot:DescribeJob"], [a.iotJobs()], {
        wildcardReason: "The deployment's IoT job id is assigned by Greengrass at run time.",
      }),
    ],
    RollbackFunctionArn: [
      ...readDeployments,
      ...createDeployments,
      tagDeployments,
      allow(["greengrass:CancelDeployment"], [a.deployments()], {
        wildcardReason: "Deployment ids are assigned by Greengrass at run time.",
      }),
    ],
    NotifyFunctionArn: [allow(["events:PutEvents"], [r.bus.eventBusArn])],
  };
}
