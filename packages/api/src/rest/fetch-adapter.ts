/**
 * Adapter between WHATWG fetch and trpc-to-openapi's node-http handler.
 *
 * trpc-to-openapi's own fetch adapter builds a new node handler (and, outside
 * production, regenerates the whole OpenAPI document) on every request, and
 * parses the body itself. We create the handler once and hand it a request
 * whose body we already read, size-limited and JSON-parsed, so malformed or
 * oversized input is answered by us before routing. The casts are confined to
 * this file: the node handler only touches `method`, `url`, `headers`, `body`
 * and `signal` of the request and `statusCode`, `setHeader`, `end` of the response.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createOpenApiNodeHttpHandler } from "trpc-to-openapi";
import type { AppRouter } from "../root";
import type { Context } from "../trpc";

export interface DispatchResult {
  status: number;
  headers: Headers;
  body: string;
}

export type Dispatch = (input: { url: URL; method: string; body: unknown; ctx: Context; signal: AbortSignal }) => Promise<DispatchResult>;

export function createDispatcher(router: AppRouter, opts: { onError: (err: unknown, path: string | undefined, ctx: Context | undefined) => void }): Dispatch {
  const contexts = new WeakMap<object, Context>();
  const handler = createOpenApiNodeHttpHandler({
    router,
    createContext: ({ req }) => {
      const ctx = contexts.get(req);
      if (!ctx) throw new Error("REST request without a prepared context");
      return ctx;
    },
    onError: ({ error, path, ctx }) => opts.onError(error, path, ctx),
  });

  return ({ url, method, body, ctx, signal }) => {
    const headers = new Headers({ "content-type": "application/json" });
    const target = new Request(url, { method, headers, signal });
    const req = new Proxy(target, {
      get: (t, prop) => {
        if (prop === "body") return body;
        if (prop === "url") return url.toString();
        const value: unknown = Reflect.get(t, prop, t);
        if (typeof value !== "function") return value;
        const bound: unknown = value.bind(t);
        return bound;
      },
    });
    contexts.set(req, ctx);
    return new Promise<DispatchResult>((resolve, reject) => {
      const resHeaders = new Headers();
      let statusCode = 200;
      const res = {
        setHeader(key: string, value: string | readonly string[] | number) {
          if (typeof value === "string" || typeof value === "number") resHeaders.set(key, String(value));
          else for (const v of value) resHeaders.append(key, v);
          return res;
        },
        get statusCode() {
          return statusCode;
        },
        set statusCode(code: number) {
          statusCode = code;
        },
        end(chunk?: string) {
          resolve({ status: statusCode, headers: resHeaders, body: chunk ?? "" });
          return res;
        },
      };
      handler(req as unknown as IncomingMessage & { body?: unknown }, res as unknown as ServerResponse).catch(reject);
    });
  };
}
