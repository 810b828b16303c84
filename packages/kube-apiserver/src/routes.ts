/** URL → what is asked: a discovery document, a collection, an object or a subresource. */
export type Route =
  | { kind: "version" }
  | { kind: "health"; which: string }
  | { kind: "coreVersions" }
  | { kind: "groups" }
  | { kind: "group"; group: string }
  | { kind: "resourceList"; group: string; version: string }
  | { kind: "openapiIndex" }
  | { kind: "openapiV2" }
  | { kind: "openapiDoc"; group: string; version: string }
  | { kind: "resource"; group: string; version: string; resource: string; namespace?: string; name?: string; subresource?: string; watchPath: boolean }
  | { kind: "unknown" };

export function parseRoute(pathname: string): Route {
  const segs = pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
  const [first, ...rest] = segs;
  if (first === "version" && rest.length === 0) return { kind: "version" };
  if ((first === "healthz" || first === "livez" || first === "readyz") && rest.length <= 1) return { kind: "health", which: first };
  if (first === "openapi") {
    if (rest[0] === "v2" && rest.length === 1) return { kind: "openapiV2" };
    if (rest[0] !== "v3") return { kind: "unknown" };
    if (rest.length === 1) return { kind: "openapiIndex" };
    if (rest[1] === "api" && rest.length === 3) return { kind: "openapiDoc", group: "", version: rest[2] ?? "" };
    if (rest[1] === "apis" && rest.length === 4) return { kind: "openapiDoc", group: rest[2] ?? "", version: rest[3] ?? "" };
    return { kind: "unknown" };
  }
  let group: string;
  let version: string;
  let tail: string[];
  if (first === "api") {
    if (rest.length === 0) return { kind: "coreVersions" };
    group = "";
    version = rest[0] ?? "";
    tail = rest.slice(1);
  } else if (first === "apis") {
    if (rest.length === 0) return { kind: "groups" };
    if (rest.length === 1) return { kind: "group", group: rest[0] ?? "" };
    group = rest[0] ?? "";
    version = rest[1] ?? "";
    tail = rest.slice(2);
  } else return { kind: "unknown" };
  if (tail.length === 0) return { kind: "resourceList", group, version };
  let watchPath = false;
  if (tail[0] === "watch") {
    watchPath = true;
    tail = tail.slice(1);
  }
  let namespace: string | undefined;
  // /namespaces/<ns>/<resource>... is a namespaced path; /namespaces/<name>[/status|/finalize] is the Namespace itself.
  if (tail[0] === "namespaces" && tail.length >= 3 && !(tail.length === 3 && (tail[2] === "status" || tail[2] === "finalize"))) {
    namespace = tail[1];
    tail = tail.slice(2);
  }
  if (tail.length === 0 || tail.length > 3) return { kind: "unknown" };
  const [resource = "", name, subresource] = tail;
  return { kind: "resource", group, version, resource, watchPath, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) };
}
