/** The API's resources from discovery (/api/v1, /apis and each group version), checked with zod. */
import { z } from "zod";
import type { KubeClient, ResourceRef } from "./client";

const resourceListSchema = z.object({
  groupVersion: z.string(),
  resources: z.array(z.looseObject({ name: z.string(), kind: z.string(), namespaced: z.boolean(), verbs: z.array(z.string()) })),
});
const groupListSchema = z.object({
  groups: z.array(z.looseObject({ name: z.string(), preferredVersion: z.object({ version: z.string() }).optional(), versions: z.array(z.object({ version: z.string() })) })),
});

export interface DiscoveredResource extends ResourceRef {
  kind: string;
  verbs: string[];
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`discovery ${what}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data;
}

/** Every top-level resource (no subresources) of every group's preferred version. */
export async function discoverResources(client: KubeClient): Promise<DiscoveredResource[]> {
  const groups = parse(groupListSchema, await client.request("GET", "/apis"), "/apis").groups;
  const versions: Array<{ group: string; version: string; path: string }> = [{ group: "", version: "v1", path: "/api/v1" }];
  for (const g of groups) {
    const version = g.preferredVersion?.version ?? g.versions[0]?.version;
    if (version !== undefined) versions.push({ group: g.name, version, path: `/apis/${g.name}/${version}` });
  }
  const lists = await Promise.all(versions.map(async (v) => ({ ...v, list: parse(resourceListSchema, await client.request("GET", v.path), v.path) })));
  return lists.flatMap((v) => v.list.resources.filter((r) => !r.name.includes("/")).map((r) => ({ group: v.group, version: v.version, resource: r.name, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs })));
}

/** apiVersion + kind → resource, refreshed from discovery when a kind is unknown (a new CRD). */
export class RestMapper {
  private byKind = new Map<string, DiscoveredResource>();
  private loaded: Promise<void> | undefined;

  constructor(private readonly client: KubeClient) {}

  async resourceFor(apiVersion: string, kind: string): Promise<DiscoveredResource | undefined> {
    const key = `${apiVersion}|${kind}`;
    if (!this.byKind.has(key) || this.loaded === undefined) {
      this.loaded = this.load();
      await this.loaded;
    }
    return this.byKind.get(key);
  }

  private async load(): Promise<void> {
    const all = await discoverResources(this.client);
    // Events exist in core and events.k8s.io under the same kind; the first (core) wins.
    const next = new Map<string, DiscoveredResource>();
    for (const r of all) {
      const key = `${r.group === "" ? r.version : `${r.group}/${r.version}`}|${r.kind}`;
      if (!next.has(key)) next.set(key, r);
    }
    this.byKind = next;
  }
}
