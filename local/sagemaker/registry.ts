import { join } from "node:path";
import { JsonState } from "../server/state.ts";
import { type LocalContext, validation } from "../server/types.ts";
import { modelPackageStateChange } from "./model-package-event.ts";
import { epoch, oneOf, paginate, requireName, requireString, sortBy, timestampInput } from "./shapes.ts";

type Json = Record<string, unknown>;
const approvalStatuses = ["Approved", "Rejected", "PendingManualApproval"] as const;
type ApprovalStatus = (typeof approvalStatuses)[number];

export interface ModelPackageGroupRecord {
  ModelPackageGroupName: string;
  ModelPackageGroupArn: string;
  ModelPackageGroupDescription?: string;
  CreationTime: string;
  CreatedBy: Json;
  ModelPackageGroupStatus: "Completed";
  Tags?: unknown[];
}

export interface ModelPackageRecord {
  ModelPackageName: string;
  ModelPackageGroupName?: string;
  ModelPackageVersion?: number;
  ModelPackageArn: string;
  ModelPackageDescription?: string;
  CreationTime: string;
  LastModifiedTime: string;
  InferenceSpecification?: Json;
  ModelApprovalStatus?: ApprovalStatus;
  ApprovalDescription?: string;
  CustomerMetadataProperties?: Record<string, string>;
  MetadataProperties?: Json;
  ModelMetrics?: Json;
  DriftCheckBaselines?: Json;
  Domain?: string;
  Task?: string;
  SamplePayloadUrl?: string;
  SourceUri?: string;
  ModelPackageStatus: "Completed";
  CreatedBy: Json;
  LastModifiedBy: Json;
  ClientToken?: string;
}

interface RegistryData {
  groups: Record<string, ModelPackageGroupRecord>;
  packages: Record<string, ModelPackageRecord>;
  /** ClientToken → ARN, so a retried CreateModelPackage returns the package it created. */
  clientTokens: Record<string, string>;
}

const user = {
  IamIdentity: { Arn: "arn:aws:iam::000000000000:user/edge-mlops-local", PrincipalId: "EDGEMLOPSLOCAL" },
};

const packageStatusDetails = { ValidationStatuses: [], ImageScanStatuses: [] };

/** The SageMaker model registry: groups, versioned packages, approval changes with their events. */
export class ModelRegistry {
  private readonly state: JsonState<RegistryData>;

  constructor(private readonly context: LocalContext) {
    this.state = new JsonState(join(context.stateDir, "registry.json"), {
      groups: {},
      packages: {},
      clientTokens: {},
    });
  }

  private arn(kind: string, name: string) {
    return `arn:aws:sagemaker:${this.context.region}:${this.context.accountId}:${kind}/${name.toLowerCase()}`;
  }

  createGroup(input: Json) {
    const name = requireName(input.ModelPackageGroupName, "modelPackageGroupName");
    const existing = this.state.data.groups[name];
    if (existing) throw validation(`Model Package Group already exists: ${existing.ModelPackageGroupArn}`);
    const group: ModelPackageGroupRecord = {
      ModelPackageGroupName: name,
      ModelPackageGroupArn: this.arn("model-package-group", name),
      ...(typeof input.ModelPackageGroupDescription === "string"
        ? { ModelPackageGroupDescription: input.ModelPackageGroupDescription }
        : {}),
      CreationTime: this.context.clock.now().toISOString(),
      CreatedBy: user,
      ModelPackageGroupStatus: "Completed",
      ...(Array.isArray(input.Tags) ? { Tags: input.Tags } : {}),
    };
    this.state.data.groups[name] = group;
    this.state.save();
    return { ModelPackageGroupArn: group.ModelPackageGroupArn };
  }

  private group(nameOrArn: unknown): ModelPackageGroupRecord {
    const key = requireString(nameOrArn, "modelPackageGroupName");
    const name = key.startsWith("arn:") ? key.slice(key.lastIndexOf("/") + 1) : key;
    const group = Object.values(this.state.data.groups).find(
      (g) => g.ModelPackageGroupName.toLowerCase() === name.toLowerCase(),
    );
    if (!group) throw validation(`ModelPackageGroup ${name} does not exist.`);
    return group;
  }

  describeGroup(input: Json) {
    const g = this.group(input.ModelPackageGroupName);
    const { Tags: _tags, ...rest } = g;
    return { ...rest, CreationTime: epoch(g.CreationTime) };
  }

  listGroups(input: Json) {
    const after = timestampInput(input.CreationTimeAfter, "CreationTimeAfter");
    const before = timestampInput(input.CreationTimeBefore, "CreationTimeBefore");
    const contains = typeof input.NameContains === "string" ? input.NameContains.toLowerCase() : undefined;
    const by = oneOf(input.SortBy, "sortBy", ["Name", "CreationTime"] as const) ?? "CreationTime";
    const order = oneOf(input.SortOrder, "sortOrder", ["Ascending", "Descending"] as const) ?? "Ascending";
    const groups = Object.values(this.state.data.groups).filter(
      (g) =>
        (!contains || g.ModelPackageGroupName.toLowerCase().includes(contains)) &&
        (after === undefined || Date.parse(g.CreationTime) > after) &&
        (before === undefined || Date.parse(g.CreationTime) < before),
    );
    const sorted = sortBy(groups, (g) => (by === "Name" ? g.ModelPackageGroupName : g.CreationTime), order);
    const { page, NextToken } = paginate(sorted, input.MaxResults, input.NextToken);
    return {
      ModelPackageGroupSummaryList: page.map((g) => ({
        ModelPackageGroupName: g.ModelPackageGroupName,
        ModelPackageGroupArn: g.ModelPackageGroupArn,
        ModelPackageGroupDescription: g.ModelPackageGroupDescription,
        CreationTime: epoch(g.CreationTime),
        ModelPackageGroupStatus: g.ModelPackageGroupStatus,
      })),
      NextToken,
    };
  }

  private validateInferenceSpecification(spec: unknown): Json | undefined {
    if (spec === undefined || spec === null) return undefined;
    const containers = (spec as Json).Containers;
    if (!Array.isArray(containers) || containers.length === 0)
      throw validation("InferenceSpecification.Containers must contain at least one container");
    for (const [i, c] of containers.entries()) {
      const url = (c as Json).ModelDataUrl;
      if (url !== undefined && (typeof url !== "string" || !/^(s3|https?):\/\//.test(url)))
        throw validation(
          `InferenceSpecification.Containers.${i + 1}.ModelDataUrl must be an s3:// or https:// URL`,
        );
    }
    return spec as Json;
  }

  async createPackage(input: Json) {
    const token = typeof input.ClientToken === "string" ? input.ClientToken : undefined;
    const previous = token ? this.state.data.clientTokens[token] : undefined;
    if (previous) return { ModelPackageArn: previous };

    const approval = oneOf(input.ModelApprovalStatus, "modelApprovalStatus", approvalStatuses);
    const spec = this.validateInferenceSpecification(input.InferenceSpecification);
    const metadata = input.CustomerMetadataProperties as Record<string, string> | undefined;
    if (
      metadata !== undefined &&
      (typeof metadata !== "object" || Object.values(metadata).some((v) => typeof v !== "string"))
    )
      throw validation("CustomerMetadataProperties must map strings to strings");
    const now = this.context.clock.now().toISOString();

    let pkg: ModelPackageRecord;
    if (input.ModelPackageGroupName !== undefined) {
      if (input.ModelPackageName !== undefined)
        throw validation(
          "ModelPackageName and ModelPackageGroupName are exclusive: a versioned package takes its group's name",
        );
      const group = this.group(input.ModelPackageGroupName);
      const version =
        Object.values(this.state.data.packages).filter(
          (p) => p.ModelPackageGroupName === group.ModelPackageGroupName,
        ).length + 1;
      pkg = {
        ModelPackageName: group.ModelPackageGroupName,
        ModelPackageGroupName: group.ModelPackageGroupName,
        ModelPackageVersion: version,
        ModelPackageArn: `${this.arn("model-package", group.ModelPackageGroupName)}/${version}`,
        CreationTime: now,
        LastModifiedTime: now,
        // Versioned packages start pending approval unless the caller says otherwise.
        ModelApprovalStatus: approval ?? "PendingManualApproval",
        ModelPackageStatus: "Completed",
        CreatedBy: user,
        LastModifiedBy: user,
      };
    } else {
      const name = requireName(input.ModelPackageName, "modelPackageName");
      const arn = this.arn("model-package", name);
      if (this.state.data.packages[arn]) throw validation(`Model Package already exists: ${arn}`);
      pkg = {
        ModelPackageName: name,
        ModelPackageArn: arn,
        CreationTime: now,
        LastModifiedTime: now,
        ...(approval ? { ModelApprovalStatus: approval } : {}),
        ModelPackageStatus: "Completed",
        CreatedBy: user,
        LastModifiedBy: user,
      };
    }
    for (const field of [
      "ModelPackageDescription",
      "Domain",
      "Task",
      "SamplePayloadUrl",
      "SourceUri",
    ] as const) {
      if (typeof input[field] === "string") pkg[field] = input[field] as string;
    }
    for (const field of ["MetadataProperties", "ModelMetrics", "DriftCheckBaselines"] as const) {
      if (input[field] && typeof input[field] === "object") pkg[field] = input[field] as Json;
    }
    if (spec) pkg.InferenceSpecification = spec;
    if (metadata) pkg.CustomerMetadataProperties = metadata;
    if (token) {
      pkg.ClientToken = token;
      this.state.data.clientTokens[token] = pkg.ModelPackageArn;
    }
    this.state.data.packages[pkg.ModelPackageArn] = pkg;
    this.state.save();
    if (pkg.ModelPackageGroupName) await this.context.emit(modelPackageStateChange(pkg));
    return { ModelPackageArn: pkg.ModelPackageArn };
  }

  /** A package by versioned ARN, unversioned ARN or unversioned name. */
  package(nameOrArn: unknown): ModelPackageRecord {
    const key = requireString(nameOrArn, "modelPackageName");
    const lower = key.toLowerCase();
    const pkg =
      this.state.data.packages[
        lower.startsWith("arn:") ? this.normalizeArn(key) : this.arn("model-package", key)
      ] ?? Object.values(this.state.data.packages).find((p) => p.ModelPackageArn.toLowerCase() === lower);
    if (!pkg) throw validation(`ModelPackage ${key} does not exist.`);
    return pkg;
  }

  private normalizeArn(arn: string) {
    const i = arn.indexOf(":model-package/");
    return i < 0 ? arn : arn.slice(0, i) + arn.slice(i).toLowerCase();
  }

  describePackage(input: Json) {
    const p = this.package(input.ModelPackageName);
    const { ClientToken: _token, ...rest } = p;
    return {
      ...rest,
      CreationTime: epoch(p.CreationTime),
      LastModifiedTime: epoch(p.LastModifiedTime),
      ModelPackageStatusDetails: packageStatusDetails,
      CertifyForMarketplace: false,
    };
  }

  listPackages(input: Json) {
    const after = timestampInput(input.CreationTimeAfter, "CreationTimeAfter");
    const before = timestampInput(input.CreationTimeBefore, "CreationTimeBefore");
    const approval = oneOf(input.ModelApprovalStatus, "modelApprovalStatus", approvalStatuses);
    const type = oneOf(input.ModelPackageType, "modelPackageType", [
      "Versioned",
      "Unversioned",
      "Both",
    ] as const);
    const by = oneOf(input.SortBy, "sortBy", ["Name", "CreationTime"] as const) ?? "CreationTime";
    const order = oneOf(input.SortOrder, "sortOrder", ["Ascending", "Descending"] as const) ?? "Ascending";
    const contains = typeof input.NameContains === "string" ? input.NameContains.toLowerCase() : undefined;
    let groupName: string | undefined;
    if (input.ModelPackageGroupName !== undefined)
      groupName = this.group(input.ModelPackageGroupName).ModelPackageGroupName;
    // As on AWS: a group filter lists its versions; otherwise the default type is Unversioned.
    const effectiveType = type ?? (groupName ? "Versioned" : "Unversioned");
    const items = Object.values(this.state.data.packages).filter((p) => {
      const versioned = p.ModelPackageGroupName !== undefined;
      if (effectiveType === "Versioned" && !versioned) return false;
      if (effectiveType === "Unversioned" && versioned) return false;
      if (groupName && p.ModelPackageGroupName !== groupName) return false;
      if (approval && p.ModelApprovalStatus !== approval) return false;
      if (contains && !p.ModelPackageName.toLowerCase().includes(contains)) return false;
      if (after !== undefined && Date.parse(p.CreationTime) <= after) return false;
      if (before !== undefined && Date.parse(p.CreationTime) >= before) return false;
      return true;
    });
    // Versions of one group share a name and may share a creation millisecond: the version breaks ties.
    const key = (p: ModelPackageRecord) =>
      by === "Name"
        ? `${p.ModelPackageName}/${String(p.ModelPackageVersion ?? 0).padStart(9, "0")}`
        : `${p.CreationTime}/${String(p.ModelPackageVersion ?? 0).padStart(9, "0")}`;
    const { page, NextToken } = paginate(sortBy(items, key, order), input.MaxResults, input.NextToken);
    return {
      ModelPackageSummaryList: page.map((p) => ({
        ModelPackageName: p.ModelPackageName,
        ModelPackageGroupName: p.ModelPackageGroupName,
        ModelPackageVersion: p.ModelPackageVersion,
        ModelPackageArn: p.ModelPackageArn,
        ModelPackageDescription: p.ModelPackageDescription,
        CreationTime: epoch(p.CreationTime),
        ModelPackageStatus: p.ModelPackageStatus,
        ModelApprovalStatus: p.ModelApprovalStatus,
      })),
      NextToken,
    };
  }

  async updatePackage(input: Json) {
    const pkg = this.package(requireString(input.ModelPackageArn, "modelPackageArn"));
    const approval = oneOf(input.ModelApprovalStatus, "modelApprovalStatus", approvalStatuses);
    const add = input.CustomerMetadataProperties as Record<string, string> | undefined;
    const remove = input.CustomerMetadataPropertiesToRemove as string[] | undefined;
    if (add && remove?.some((k) => k in add))
      throw validation("CustomerMetadataProperties and CustomerMetadataPropertiesToRemove name the same key");
    if (
      approval === undefined &&
      add === undefined &&
      remove === undefined &&
      input.ApprovalDescription === undefined &&
      input.InferenceSpecification === undefined &&
      input.SourceUri === undefined
    )
      throw validation("UpdateModelPackage needs at least one property to update");
    const approvalChanged = approval !== undefined && approval !== pkg.ModelApprovalStatus;
    if (approval) pkg.ModelApprovalStatus = approval;
    if (typeof input.ApprovalDescription === "string") pkg.ApprovalDescription = input.ApprovalDescription;
    if (add) pkg.CustomerMetadataProperties = { ...pkg.CustomerMetadataProperties, ...add };
    if (remove && pkg.CustomerMetadataProperties) {
      for (const k of remove) delete pkg.CustomerMetadataProperties[k];
    }
    const spec = this.validateInferenceSpecification(input.InferenceSpecification);
    if (spec) pkg.InferenceSpecification = spec;
    if (typeof input.SourceUri === "string") pkg.SourceUri = input.SourceUri;
    pkg.LastModifiedTime = this.context.clock.now().toISOString();
    pkg.LastModifiedBy = user;
    this.state.save();
    if (approvalChanged && pkg.ModelPackageGroupName) await this.context.emit(modelPackageStateChange(pkg));
    return { ModelPackageArn: pkg.ModelPackageArn };
  }

  flush(): void {
    this.state.save();
  }
}
