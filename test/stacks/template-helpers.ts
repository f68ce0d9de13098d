import type { Template } from "aws-cdk-lib/assertions";

export interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export const resources = (template: Template, type: string): Record<string, CfnResource> =>
  template.findResources(type) as Record<string, CfnResource>;

export const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every statement of every identity policy in the template, with the logical id of the role it is attached to. */
export function identityStatements(template: Template): { role: string; statement: Statement }[] {
  return Object.values(resources(template, "AWS::IAM::Policy")).flatMap((policy) => {
    const roles = (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    const doc = policy.Properties.PolicyDocument as { Statement: Statement[] };
    return roles.flatMap((role) => doc.Statement.map((statement) => ({ role, statement })));
  });
}

/** The actions a role may take, grouped as `action → resources` (resources as JSON for comparison). */
export function actionsOf(template: Template, roleLogicalId: string): Set<string> {
  return new Set(
    identityStatements(template)
      .filter((s) => s.role === roleLogicalId)
      .flatMap((s) => asList(s.statement.Action)),
  );
}

/** Logical id of the single resource of `type` whose id starts with `prefix` (CDK appends a hash). */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(resources(template, type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`expected one ${type} named ${prefix}…, found ${ids.join(", ") || "none"}`);
  return ids[0] as string;
}
