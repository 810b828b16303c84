/**
 * Authorization: system:masters may do anything; everyone else is evaluated with RBAC (Roles,
 * ClusterRoles and their bindings, read from the store on each request), plus the bootstrap
 * policy that lets anyone read /version and health, and authenticated users read discovery.
 */
import { arrayAt, isObject, objectAt, stringAt, type Json, type JsonObject } from "../json";
import type { EtcdStore } from "../storage/store";
import type { UserInfo } from "./authn";

export type Attributes =
  | { kind: "resource"; verb: string; group: string; resource: string; subresource?: string; namespace?: string; name?: string }
  | { kind: "nonResource"; verb: string; path: string };

const publicPaths = ["/version", "/healthz", "/livez", "/readyz"];
const discoveryPrefixes = ["/api", "/apis", "/openapi"];

function strings(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

function subjectMatches(subject: JsonObject, user: UserInfo): boolean {
  const kind = stringAt(subject, "kind");
  const name = stringAt(subject, "name") ?? "";
  if (kind === "User") return name === user.name;
  if (kind === "Group") return user.groups.includes(name);
  if (kind === "ServiceAccount") return user.name === `system:serviceaccount:${stringAt(subject, "namespace") ?? ""}:${name}`;
  return false;
}

function ruleAllows(rule: JsonObject, attrs: Attributes): boolean {
  const verbs = strings(rule.verbs);
  if (!verbs.includes("*") && !verbs.includes(attrs.verb)) return false;
  if (attrs.kind === "nonResource") {
    return strings(rule.nonResourceURLs).some((u) => u === "*" || u === attrs.path || (u.endsWith("*") && attrs.path.startsWith(u.slice(0, -1))));
  }
  const groups = strings(rule.apiGroups);
  if (!groups.includes("*") && !groups.includes(attrs.group)) return false;
  const resources = strings(rule.resources);
  const full = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const resourceOk = resources.some((r) => r === "*" || r === full || (attrs.subresource !== undefined && r === `*/${attrs.subresource}`));
  if (!resourceOk) return false;
  const names = strings(rule.resourceNames);
  return names.length === 0 || (attrs.name !== undefined && names.includes(attrs.name));
}

export class Authorizer {
  constructor(
    private readonly store: EtcdStore,
    private readonly prefix: string,
  ) {}

  private async rules(kind: "clusterroles" | "roles", namespace: string | undefined, name: string): Promise<JsonObject[]> {
    const key = kind === "clusterroles" ? `${this.prefix}/rbac.authorization.k8s.io/clusterroles/${name}` : `${this.prefix}/rbac.authorization.k8s.io/roles/${namespace ?? ""}/${name}`;
    const stored = await this.store.get(key);
    return (arrayAt(stored?.object, "rules") ?? []).filter(isObject);
  }

  async allowed(user: UserInfo, attrs: Attributes): Promise<boolean> {
    if (user.groups.includes("system:masters")) return true;
    if (attrs.kind === "nonResource" && attrs.verb === "get") {
      if (publicPaths.some((p) => attrs.path === p || attrs.path.startsWith(`${p}/`))) return true;
      if (user.groups.includes("system:authenticated") && discoveryPrefixes.some((p) => attrs.path === p || attrs.path.startsWith(`${p}/`))) return true;
    }
    const bindings: Array<{ binding: JsonObject; namespace?: string }> = (await this.store.list(`${this.prefix}/rbac.authorization.k8s.io/clusterrolebindings/`)).items.map((i) => ({ binding: i.object }));
    if (attrs.kind === "resource" && attrs.namespace !== undefined) {
      const ns = attrs.namespace;
      bindings.push(...(await this.store.list(`${this.prefix}/rbac.authorization.k8s.io/rolebindings/${ns}/`)).items.map((i) => ({ binding: i.object, namespace: ns })));
    }
    for (const { binding, namespace } of bindings) {
      const subjects = (arrayAt(binding, "subjects") ?? []).filter(isObject);
      if (!subjects.some((s) => subjectMatches(s, user))) continue;
      const roleRef = objectAt(binding, "roleRef") ?? {};
      const roleKind = stringAt(roleRef, "kind") === "Role" ? "roles" : "clusterroles";
      const rules = await this.rules(roleKind, namespace, stringAt(roleRef, "name") ?? "");
      if (rules.some((r) => ruleAllows(r, attrs))) return true;
    }
    return false;
  }
}

export function forbiddenMessage(user: UserInfo, attrs: Attributes): string {
  if (attrs.kind === "nonResource") return `forbidden: User "${user.name}" cannot ${attrs.verb} path "${attrs.path}"`;
  const what = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const named = attrs.name !== undefined ? `${attrs.resource} "${attrs.name}"` : attrs.resource;
  const scope = attrs.namespace !== undefined ? `in the namespace "${attrs.namespace}"` : "at the cluster scope";
  return `${named} is forbidden: User "${user.name}" cannot ${attrs.verb} resource "${what}" in API group "${attrs.group}" ${scope}`;
}
