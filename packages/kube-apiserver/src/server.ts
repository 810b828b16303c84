/**
 * The HTTP(S) front: authentication, authorization, routing, content negotiation, and Status bodies
 * for every error. HTTP/1.1 only; kubectl and client-node both speak it.
 */
import type http from "node:http";
import type https from "node:https";
import type { AddressInfo } from "node:net";
import YAML from "yaml";
import { anonymous, authenticate, type TokenEntry, type UserInfo } from "./auth/authn";
import { Authorizer, forbiddenMessage, type Attributes } from "./auth/rbac";
import { aggregatedAccept, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, etagOf } from "./discovery/documents";
import { present, type Reply, type RequestScope, type ServerContext } from "./context";
import { handleDelete, handleDeleteCollection } from "./handlers/delete";
import { handlePatch } from "./handlers/patch";
import { handleGet, handleList } from "./handlers/read";
import { scaleOf } from "./handlers/scale";
import { handleWatch } from "./handlers/watch";
import { handleBinding } from "./handlers/binding";
import { handleCreate, handleUpdate } from "./handlers/write";
import { isObject, type JsonObject } from "./json";
import { documentHash, groupVersionDocument, openapiIndex } from "./openapi/documents";
import { parseRoute, type Route } from "./routes";
import { ApiError, errors } from "./status";
import { negotiate, partialMetadata, toTable } from "./table";

export const serverVersion = { major: "1", minor: "32", gitVersion: "v1.32.5", gitCommit: "9894294ef13a5b32803e3ca2c0d620a088cc84d1", gitTreeState: "clean", buildDate: "2025-05-15T09:00:00Z", goVersion: "go1.23.8", compiler: "gc", platform: "linux/amd64" };

export interface FrontOptions {
  tokens: TokenEntry[];
  /** Called after a CRD write succeeds, so the resource is served before the response returns. */
  crdWritten: (crd: JsonObject) => Promise<void>;
  address: () => string;
}

const maxBody = 8 * 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBody) reject(new ApiError(413, undefined, "Request entity too large: limit is 8MiB"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: http.ServerResponse, status: number, body: JsonObject, headers: Record<string, string | string[]> = {}, yaml = false): void {
  const text = yaml ? YAML.stringify(body) : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": yaml ? "application/yaml" : "application/json", "Cache-Control": "no-cache, private", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache, private", "X-Content-Type-Options": "nosniff", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function verbFor(method: string, route: Extract<Route, { kind: "resource" }>, watch: boolean): string {
  switch (method) {
    case "GET": return watch ? "watch" : route.name === undefined ? "list" : "get";
    case "POST": return "create";
    case "PUT": return "update";
    case "PATCH": return "patch";
    case "DELETE": return route.name === undefined ? "deletecollection" : "delete";
    default: return method.toLowerCase();
  }
}

export function createFront(ctx: ServerContext, opts: FrontOptions): http.RequestListener {
  const authorizer = new Authorizer(ctx.store, ctx.prefix);
  return (req, res) => {
    void serve(ctx, opts, authorizer, req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      const apiErr = err instanceof ApiError ? err : errors.internal("Internal error occurred: the server could not handle the request");
      if (!(err instanceof ApiError)) process.stderr.write(`kube-apiserver: ${req.method ?? ""} ${req.url ?? ""}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      send(res, apiErr.code, apiErr.toStatus(), apiErr.extra.headers ?? {});
    });
  };
}

async function serve(ctx: ServerContext, opts: FrontOptions, authorizer: Authorizer, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "https://localhost");
  const method = req.method ?? "GET";
  const accept = req.headers.accept;
  const authResult = authenticate(req.headers.authorization, opts.tokens);
  if (authResult === "invalid") throw errors.unauthorized();
  const user: UserInfo = authResult;
  const route = parseRoute(url.pathname);

  if (route.kind !== "resource") {
    const attrs: Attributes = { kind: "nonResource", verb: method.toLowerCase(), path: url.pathname };
    if (!(await authorizer.allowed(user, attrs))) throw errors.forbidden({ group: "", resource: "" }, undefined, forbiddenMessage(user, attrs));
    serveNonResource(ctx, opts, route, url, accept, res);
    return;
  }

  if (!ctx.registry.hasGroupVersion(route.group, route.version)) {
    sendText(res, 404, "404 page not found\n");
    return;
  }
  const type = ctx.registry.lookup(route.group, route.version, route.resource);
  if (type === undefined) {
    // Custom resource group-versions are served by the CRD handler, whose unknown paths are plain 404s.
    if (ctx.registry.inGroupVersion(route.group, route.version).every((t) => t.crdName !== undefined)) {
      sendText(res, 404, "404 page not found\n");
      return;
    }
    throw errors.notFoundPath();
  }
  const q = url.searchParams;
  const watch = method === "GET" && (route.watchPath || (route.name === undefined && (q.get("watch") === "true" || q.get("watch") === "1")));
  const attrs: Attributes = { kind: "resource", verb: verbFor(method, route, watch), group: route.group, resource: route.resource, ...(route.subresource ? { subresource: route.subresource } : {}), ...(route.namespace !== undefined ? { namespace: route.namespace } : {}), ...(route.name !== undefined ? { name: route.name } : {}) };
  if (!(await authorizer.allowed(user, attrs))) {
    const details = { group: route.group, resource: route.resource };
    throw errors.forbidden(details, route.name, forbiddenMessage(user === anonymous ? anonymous : user, attrs));
  }
  if (route.subresource !== undefined && !["status", "scale", "finalize", "binding"].includes(route.subresource)) throw errors.notFoundPath();
  if (route.subresource === "binding" && !(type.group === "" && type.resource === "pods")) throw errors.notFoundPath();
  if (route.subresource === "binding" && method !== "POST") throw errors.methodNotAllowed();
  if (route.subresource === "status" && !type.subresources.status) throw errors.notFoundPath();
  if (route.subresource === "scale" && type.subresources.scale === undefined) throw errors.notFoundPath();
  if (route.subresource === "finalize" && !(type.group === "" && type.resource === "namespaces")) throw errors.notFoundPath();
  if (type.namespaced && route.namespace === undefined && route.name !== undefined) throw errors.notFoundPath();

  const ua = req.headers["user-agent"] ?? "unknown";
  const scope: RequestScope = {
    type,
    ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
    ...(route.subresource !== undefined ? { subresource: route.subresource } : {}),
    query: q,
    manager: q.get("fieldManager") ?? ua.split("/")[0] ?? "unknown",
    warnings: [],
  };
  if (q.get("sendInitialEvents") === "true" && !watch) throw errors.badRequest("sendInitialEvents is only supported with watch");
  if (watch) {
    await handleWatch(ctx, scope, res, "application/json");
    return;
  }
  const wantsYaml = (accept ?? "").split(",")[0]?.trim().startsWith("application/yaml") ?? false;
  const body = method === "GET" ? "" : await readBody(req);
  const contentType = req.headers["content-type"] ?? "application/json";
  // Protobuf is not spoken here; a 415 makes client-go (1.32+) retry the write as JSON.
  if ((method === "POST" || method === "PUT") && !/^application\/(json|yaml)|^\*\/\*/.test(contentType)) {
    throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`, {});
  }
  let reply: Reply;
  const name = route.name;
  switch (method) {
    case "GET":
      if (name === undefined) {
        const representation = negotiate(accept, true);
        if (representation === undefined) throw errors.notAcceptable();
        const list = await handleList(ctx, scope);
        const listMeta = isObject(list.body.metadata) ? list.body.metadata : {};
        if (representation.kind === "table") reply = { status: 200, body: toTable(type, list.served, listMeta, q.get("includeObject")) };
        else if (representation.kind === "metadataList") reply = { status: 200, body: { kind: "PartialObjectMetadataList", apiVersion: "meta.k8s.io/v1", metadata: listMeta, items: list.served.map(partialMetadata) } };
        else reply = { status: 200, body: list.body };
      } else {
        const representation = negotiate(accept, false);
        if (representation === undefined) throw errors.notAcceptable();
        let object = await handleGet(ctx, scope, name);
        if (route.subresource === "scale") object = scaleOf(type, object, Number(isObject(object.metadata) && typeof object.metadata.resourceVersion === "string" ? object.metadata.resourceVersion : "0"));
        const rv = isObject(object.metadata) && typeof object.metadata.resourceVersion === "string" ? object.metadata.resourceVersion : "";
        if (representation.kind === "table") reply = { status: 200, body: toTable(type, [object], { resourceVersion: rv }, q.get("includeObject")) };
        else if (representation.kind === "metadata") reply = { status: 200, body: partialMetadata(object) };
        else reply = { status: 200, body: object };
      }
      break;
    case "POST":
      if (name !== undefined && route.subresource === "binding") {
        reply = await handleBinding(ctx, scope, name, body);
        break;
      }
      if (name !== undefined) throw errors.methodNotAllowed();
      reply = await handleCreate(ctx, scope, body, contentType);
      break;
    case "PUT":
      if (name === undefined) throw errors.methodNotAllowed();
      reply = await handleUpdate(ctx, scope, name, body, contentType);
      break;
    case "PATCH":
      if (name === undefined) throw errors.methodNotAllowed();
      reply = await handlePatch(ctx, scope, name, body, contentType);
      break;
    case "DELETE":
      reply = name === undefined ? await handleDeleteCollection(ctx, scope, body) : await handleDelete(ctx, scope, name, body);
      break;
    default:
      throw errors.methodNotAllowed();
  }
  if (type.group === "apiextensions.k8s.io" && method !== "GET" && q.getAll("dryRun").length === 0 && reply.body.kind === "CustomResourceDefinition") {
    await opts.crdWritten(reply.body);
    if (method === "POST") reply = { ...reply, body: present(type, reply.body, Number(isObject(reply.body.metadata) ? reply.body.metadata.resourceVersion : 0)) };
  }
  const headers: Record<string, string | string[]> = { ...(reply.headers ?? {}) };
  if (scope.warnings.length > 0) headers.Warning = scope.warnings;
  send(res, reply.status, reply.body, headers, wantsYaml);
}

function serveNonResource(ctx: ServerContext, opts: FrontOptions, route: Route, url: URL, accept: string | undefined, res: http.ServerResponse): void {
  switch (route.kind) {
    case "version":
      send(res, 200, serverVersion);
      return;
    case "health":
      sendText(res, 200, url.searchParams.has("verbose") ? `[+]ping ok\n[+]etcd ok\n${route.which} check passed\n` : "ok");
      return;
    case "coreVersions":
    case "groups": {
      const agg = aggregatedAccept(accept);
      if (agg !== undefined) {
        const doc = aggregatedDiscovery(ctx.registry, route.kind === "coreVersions" ? "api" : "apis", agg);
        const text = JSON.stringify(doc);
        res.writeHead(200, { "Content-Type": `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`, "Cache-Control": "public", Vary: "Accept", ETag: etagOf(text), "Content-Length": Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      if (accept !== undefined && !/application\/json(?!;)|application\/json,|application\/json$|\*\/\*/.test(accept)) {
        send(res, 406, errors.notAcceptable().toStatus());
        return;
      }
      send(res, 200, route.kind === "coreVersions" ? apiVersions(opts.address()) : apiGroupList(ctx.registry));
      return;
    }
    case "group": {
      const doc = apiGroup(ctx.registry, route.group);
      if (doc === undefined) sendText(res, 404, "404 page not found\n");
      else send(res, 200, doc);
      return;
    }
    case "resourceList":
      if (!ctx.registry.hasGroupVersion(route.group, route.version)) {
        if (route.group === "") send(res, 404, errors.notFoundPath().toStatus());
        else sendText(res, 404, "404 page not found\n");
        return;
      }
      send(res, 200, apiResourceList(ctx.registry, route.group, route.version));
      return;
    case "openapiIndex":
      send(res, 200, openapiIndex(ctx.registry));
      return;
    case "openapiDoc": {
      if (!ctx.registry.hasGroupVersion(route.group, route.version)) {
        sendText(res, 404, "404 page not found\n");
        return;
      }
      const doc = groupVersionDocument(ctx.registry, route.group, route.version);
      const hashed = url.searchParams.has("hash");
      send(res, 200, doc, { ETag: `"${documentHash(doc)}"`, ...(hashed ? { "Cache-Control": "public, immutable" } : {}) });
      return;
    }
    case "openapiV2":
    case "unknown":
      sendText(res, 404, "404 page not found\n");
      return;
    case "resource":
      return;
  }
}

export type HttpServer = http.Server | https.Server;

export async function listen(server: HttpServer, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return address.port;
}
