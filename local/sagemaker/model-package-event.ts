import type { BusEvent } from "../server/types.ts";
import type { ModelPackageRecord } from "./registry.ts";

/**
 * The "SageMaker Model Package State Change" event SageMaker puts on the default bus when a
 * package is created or its approval changes: detail mirrors DescribeModelPackage, with times in
 * epoch milliseconds as the service sends them.
 */
export function modelPackageStateChange(pkg: ModelPackageRecord): BusEvent {
  const detail: Record<string, unknown> = {
    ModelPackageGroupName: pkg.ModelPackageGroupName,
    ModelPackageVersion: pkg.ModelPackageVersion,
    ModelPackageArn: pkg.ModelPackageArn,
    ModelPackageName: pkg.ModelPackageName,
    CreationTime: Date.parse(pkg.CreationTime),
    ...(pkg.InferenceSpecification ? { InferenceSpecification: pkg.InferenceSpecification } : {}),
    ...(pkg.ModelPackageDescription ? { ModelPackageDescription: pkg.ModelPackageDescription } : {}),
    ...(pkg.CustomerMetadataProperties ? { CustomerMetadataProperties: pkg.CustomerMetadataProperties } : {}),
    ModelApprovalStatus: pkg.ModelApprovalStatus,
    ...(pkg.ApprovalDescription ? { ApprovalDescription: pkg.ApprovalDescription } : {}),
    CreatedBy: pkg.CreatedBy,
    LastModifiedTime: Date.parse(pkg.LastModifiedTime),
    LastModifiedBy: pkg.LastModifiedBy,
    ModelPackageStatus: pkg.ModelPackageStatus,
    ModelPackageStatusDetails: { ValidationStatuses: [], ImageScanStatuses: [] },
    CertifyForMarketplace: false,
  };
  return {
    Source: "aws.sagemaker",
    DetailType: "SageMaker Model Package State Change",
    Detail: JSON.stringify(detail),
    Resources: [pkg.ModelPackageArn],
    Time: new Date(pkg.LastModifiedTime),
  };
}
