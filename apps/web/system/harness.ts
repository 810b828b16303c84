/**
 * Where the system suite's parts live, and its clients of the REST API and
 * /metrics. The processes themselves are `@stowage/testing/process`'s `Proc`s,
 * each in its own process group.
 */
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
export const WEB_DIR = path.join(REPO_ROOT, "apps", "web");
export const AGENT_BIN = path.join(REPO_ROOT, "apps", "agent", "bin", "stowage-agent.mjs");
export const ENGINE_BIN = path.join(REPO_ROOT, "packages", "engine", "bin", "stowage-engine.mjs");

export interface RestResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** The REST API as an API-key holder calls it. Bodies are typed by the caller: this is the suite's adapter to the wire. */
export class RestClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  async call<T>(method: "GET" | "POST" | "DELETE", urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<RestResponse<T>> {
    const res = await fetch(new URL(urlPath, this.baseUrl), {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as T };
  }

  /** GET that must answer 200. */
  async get<T>(urlPath: string): Promise<T> {
    const res = await this.call<T>("GET", urlPath);
    if (res.status !== 200) throw new Error(`GET ${urlPath} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }
}

/** A Prometheus text exposition's value of one unlabelled metric, or undefined when absent. */
export function promValue(text: string, metric: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${metric} `));
  return line === undefined ? undefined : Number(line.slice(metric.length + 1));
}
