import type { Faults } from "../faults.ts";
import {
  AwsError,
  type LocalContext,
  type LocalRequest,
  type LocalResponse,
  type ObjectStoreApi,
  type ServiceHandler,
} from "../server/types.ts";
import { CompilationJobs, defaultCompilationTimings, type JobTimings } from "./compilation-jobs.ts";
import { defaultPackagingTimings, EdgePackagingJobs } from "./edge-packaging-jobs.ts";
import { ModelRegistry } from "./registry.ts";

type Json = Record<string, unknown>;

export interface SageMakerOptions {
  compilationTimings?: JobTimings;
  packagingTimings?: JobTimings;
}

/** SageMaker over awsJson1_1 (`X-Amz-Target: SageMaker.<Operation>`): model registry, Neo compilation, edge packaging. */
export class SageMakerService implements ServiceHandler {
  readonly services = ["sagemaker", "api.sagemaker"];
  readonly protocol = "awsJson1_1" as const;
  readonly registry: ModelRegistry;
  readonly compilations: CompilationJobs;
  readonly packaging: EdgePackagingJobs;
  private readonly operations: Record<string, (input: Json) => unknown>;

  constructor(context: LocalContext, store: ObjectStoreApi, faults: Faults, options: SageMakerOptions = {}) {
    this.registry = new ModelRegistry(context);
    this.compilations = new CompilationJobs(
      context,
      this.registry,
      store,
      faults,
      options.compilationTimings ?? defaultCompilationTimings,
    );
    this.packaging = new EdgePackagingJobs(
      context,
      this.compilations,
      store,
      faults,
      options.packagingTimings ?? defaultPackagingTimings,
    );
    const r = this.registry;
    const c = this.compilations;
    const p = this.packaging;
    this.operations = {
      CreateModelPackageGroup: (i) => r.createGroup(i),
      DescribeModelPackageGroup: (i) => r.describeGroup(i),
      ListModelPackageGroups: (i) => r.listGroups(i),
      CreateModelPackage: (i) => r.createPackage(i),
      DescribeModelPackage: (i) => r.describePackage(i),
      ListModelPackages: (i) => r.listPackages(i),
      UpdateModelPackage: (i) => r.updatePackage(i),
      CreateCompilationJob: (i) => c.create(i),
      DescribeCompilationJob: (i) => c.describe(i),
      ListCompilationJobs: (i) => c.list(i),
      StopCompilationJob: (i) => c.stop(i),
      CreateEdgePackagingJob: (i) => p.create(i),
      DescribeEdgePackagingJob: (i) => p.describe(i),
      ListEdgePackagingJobs: (i) => p.list(i),
      StopEdgePackagingJob: (i) => p.stop(i),
    };
  }

  start(): void {
    this.compilations.resume();
    this.packaging.resume();
  }

  async handle(req: LocalRequest): Promise<LocalResponse> {
    if (req.method !== "POST" || !req.target)
      throw new AwsError(
        "UnknownOperationException",
        "SageMaker takes POST requests with an X-Amz-Target header",
        400,
      );
    const operation = this.operations[req.target];
    if (!operation)
      throw new AwsError(
        "UnknownOperationException",
        `the local endpoint does not implement SageMaker.${req.target}`,
        400,
      );
    let input: Json = {};
    if (req.body.length > 0) {
      try {
        input = JSON.parse(req.body.toString("utf8")) as Json;
      } catch {
        throw new AwsError("SerializationException", "request body is not valid JSON", 400);
      }
    }
    const output = await operation(input ?? {});
    return { status: 200, body: output as object };
  }

  /** Waits until no job is running (tests). */
  async settle(): Promise<void> {
    await Promise.all([this.compilations.settle(), this.packaging.settle()]);
  }

  async flush(): Promise<void> {
    this.registry.flush();
    this.compilations.flush();
    this.packaging.flush();
  }

  async close(): Promise<void> {
    this.compilations.close();
    this.packaging.close();
  }
}
