import { Stack } from "aws-cdk-lib";
import type { Construct } from "constructs";

/** ARN builders for the services whose resources the stacks name but do not create. */
export function arns(scope: Construct) {
  const { partition, region, account } = Stack.of(scope);
  const base = (service: string) => `arn:${partition}:${service}:${region}:${account}`;
  // SageMaker lowercases resource names inside its ARNs.
  const sm = (resource: string) => `${base("sagemaker")}:${resource.toLowerCase()}`;
  return {
    modelPackageGroup: (group: string) => sm(`model-package-group/${group}`),
    modelPackages: (group: string) => `${sm(`model-package/${group}`)}/*`,
    compilationJobs: () => `${base("sagemaker")}:compilation-job/*`,
    edgePackagingJobs: () => `${base("sagemaker")}:edge-packaging-job/*`,
    component: (name: string) => `${base("greengrass")}:components:${name}`,
    componentVersions: (name: string) => `${base("greengrass")}:components:${name}:versions:*`,
    deployments: () => `${base("greengrass")}:deployments:*`,
    iotJobs: () => `${base("iot")}:job/*`,
    iotThings: () => `${base("iot")}:thing/*`,
    sageMakerLogGroup: (name: string) => `${base("logs")}:log-group:/aws/sagemaker/${name}:*`,
  };
}
