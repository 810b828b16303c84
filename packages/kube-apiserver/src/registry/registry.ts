/** Every resource the server serves right now: the built-in table plus what established CRDs add. */
import { builtinTypes } from "./builtins";
import { groupVersionKey, type ResourceType } from "./types";

export class ResourceRegistry {
  private readonly builtins = builtinTypes;
  /** CRD name → its served versions. */
  private readonly custom = new Map<string, ResourceType[]>();

  all(): ResourceType[] {
    return [...this.builtins, ...[...this.custom.values()].flat()];
  }

  lookup(group: string, version: string, resource: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.version === version && t.resource === resource);
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.kind === kind);
  }

  /** Whether a group/version is served at all (an unknown one answers a text/plain 404). */
  hasGroupVersion(group: string, version: string): boolean {
    return this.all().some((t) => t.group === group && t.version === version);
  }

  hasGroup(group: string): boolean {
    return this.all().some((t) => t.group === group);
  }

  /** Groups in a stable order: built-ins as listed, then custom groups alphabetically. */
  groups(): Array<{ group: string; versions: string[] }> {
    const order: string[] = [];
    const versions = new Map<string, string[]>();
    for (const t of this.all()) {
      if (t.group === "") continue;
      if (!versions.has(t.group)) {
        order.push(t.group);
        versions.set(t.group, []);
      }
      const list = versions.get(t.group) ?? [];
      if (!list.includes(t.version)) list.push(t.version);
    }
    return order.map((group) => ({ group, versions: versions.get(group) ?? [] }));
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.version === version);
  }

  setCustom(crdName: string, types: ResourceType[]): void {
    if (types.length === 0) this.custom.delete(crdName);
    else this.custom.set(crdName, types);
  }

  customTypes(crdName: string): ResourceType[] {
    return this.custom.get(crdName) ?? [];
  }

  /** All group/version keys (for the OpenAPI index). */
  groupVersions(): string[] {
    return [...new Set(this.all().map((t) => groupVersionKey(t.group, t.version)))];
  }
}
