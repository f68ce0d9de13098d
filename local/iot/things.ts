import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { JsonState } from "../server/state.ts";
import type { LocalContext } from "../server/types.ts";
import { iotExists, iotInvalid, iotNotFound } from "./errors.ts";

type Json = Record<string, unknown>;
const namePattern = /^[a-zA-Z0-9:_-]{1,128}$/;

export interface ThingRecord {
  thingName: string;
  thingId: string;
  thingArn: string;
  thingTypeName?: string;
  attributes: Record<string, string>;
  version: number;
  billingGroupName?: string;
}

export interface ThingGroupRecord {
  thingGroupName: string;
  thingGroupId: string;
  thingGroupArn: string;
  version: number;
  thingGroupProperties?: Json;
  parentGroupName?: string;
  creationDate: string;
  things: string[];
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});

/** The IoT registry: things, thing groups (with parents) and memberships. */
export class ThingRegistry {
  private readonly state: JsonState<{
    things: Record<string, ThingRecord>;
    groups: Record<string, ThingGroupRecord>;
  }>;
  private readonly membershipListeners = new Set<(group: string, thing: string) => void>();

  constructor(private readonly context: LocalContext) {
    this.state = new JsonState(join(context.stateDir, "registry.json"), { things: {}, groups: {} });
  }

  private arn(kind: string, name: string) {
    return `arn:aws:iot:${this.context.region}:${this.context.accountId}:${kind}/${name}`;
  }

  private checkName(name: string, what: string) {
    if (!namePattern.test(name)) throw iotInvalid(`${what} name "${name}" must match [a-zA-Z0-9:_-]{1,128}`);
  }

  /** Called with (groupName, thingName) whenever a thing joins a group: continuous jobs pick it up. */
  onMembership(listener: (group: string, thing: string) => void): () => void {
    this.membershipListeners.add(listener);
    return () => this.membershipListeners.delete(listener);
  }

  createThing(name: string, input: Json) {
    this.checkName(name, "thing");
    const attributes = ((input.attributePayload as Json | undefined)?.attributes ?? {}) as Record<
      string,
      string
    >;
    const existing = this.state.data.things[name];
    if (existing) {
      if (!sameJson(existing.attributes, attributes) || existing.thingTypeName !== input.thingTypeName)
        throw iotExists(`Thing ${name} already exists in account with different attributes`);
      return existing;
    }
    const thing: ThingRecord = {
      thingName: name,
      thingId: randomUUID(),
      thingArn: this.arn("thing", name),
      attributes,
      version: 1,
      ...(typeof input.thingTypeName === "string" ? { thingTypeName: input.thingTypeName } : {}),
      ...(typeof input.billingGroupName === "string" ? { billingGroupName: input.billingGroupName } : {}),
    };
    this.state.data.things[name] = thing;
    this.state.save();
    return thing;
  }

  thing(nameOrArn: string): ThingRecord {
    const name = nameOrArn.startsWith("arn:") ? nameOrArn.slice(nameOrArn.lastIndexOf("/") + 1) : nameOrArn;
    const thing = this.state.data.things[name];
    if (!thing) throw iotNotFound(`Thing ${name} cannot be found.`);
    return thing;
  }

  things(): ThingRecord[] {
    return Object.values(this.state.data.things).sort((a, b) => a.thingName.localeCompare(b.thingName));
  }

  createGroup(name: string, input: Json) {
    this.checkName(name, "thing group");
    const parent = typeof input.parentGroupName === "string" ? input.parentGroupName : undefined;
    if (parent) this.group(parent);
    const existing = this.state.data.groups[name];
    if (existing) {
      if (
        existing.parentGroupName !== parent ||
        !sameJson(existing.thingGroupProperties, input.thingGroupProperties)
      )
        throw iotExists(
          `Thing Group ${name} already exists in the account with different tags or properties`,
        );
      return existing;
    }
    const group: ThingGroupRecord = {
      thingGroupName: name,
      thingGroupId: randomUUID(),
      thingGroupArn: this.arn("thinggroup", name),
      version: 1,
      creationDate: this.context.clock.now().toISOString(),
      things: [],
      ...(input.thingGroupProperties ? { thingGroupProperties: input.thingGroupProperties as Json } : {}),
      ...(parent ? { parentGroupName: parent } : {}),
    };
    this.state.data.groups[name] = group;
    this.state.save();
    return group;
  }

  group(nameOrArn: string): ThingGroupRecord {
    const name = nameOrArn.startsWith("arn:") ? nameOrArn.slice(nameOrArn.lastIndexOf("/") + 1) : nameOrArn;
    const group = this.state.data.groups[name];
    if (!group) throw iotNotFound(`ThingGroup ${name} cannot be found.`);
    return group;
  }

  groups(): ThingGroupRecord[] {
    return Object.values(this.state.data.groups).sort((a, b) =>
      a.thingGroupName.localeCompare(b.thingGroupName),
    );
  }

  /** Ancestors from the root down to the direct parent. */
  ancestors(group: ThingGroupRecord): ThingGroupRecord[] {
    const chain: ThingGroupRecord[] = [];
    let parent = group.parentGroupName;
    while (parent) {
      const g = this.state.data.groups[parent];
      if (!g || chain.includes(g)) break;
      chain.unshift(g);
      parent = g.parentGroupName;
    }
    return chain;
  }

  addThing(groupRef: string, thingRef: string): void {
    const group = this.group(groupRef);
    const thing = this.thing(thingRef);
    if (group.things.includes(thing.thingName)) return;
    group.things.push(thing.thingName);
    this.state.save();
    for (const listener of this.membershipListeners) listener(group.thingGroupName, thing.thingName);
  }

  removeThing(groupRef: string, thingRef: string): void {
    const group = this.group(groupRef);
    const thing = this.thing(thingRef);
    group.things = group.things.filter((t) => t !== thing.thingName);
    this.state.save();
  }

  /** Members of a group; `recursive` includes those of its descendants. */
  members(groupRef: string, recursive: boolean): string[] {
    const group = this.group(groupRef);
    const names = new Set(group.things);
    if (recursive) {
      const queue = [group.thingGroupName];
      const seen = new Set(queue);
      while (queue.length > 0) {
        const current = queue.shift() as string;
        for (const child of Object.values(this.state.data.groups)) {
          if (child.parentGroupName === current && !seen.has(child.thingGroupName)) {
            seen.add(child.thingGroupName);
            queue.push(child.thingGroupName);
            for (const t of child.things) names.add(t);
          }
        }
      }
    }
    return [...names].sort();
  }

  groupsOf(thingRef: string): ThingGroupRecord[] {
    const thing = this.thing(thingRef);
    return this.groups().filter((g) => g.things.includes(thing.thingName));
  }

  flush(): void {
    this.state.save();
  }
}
