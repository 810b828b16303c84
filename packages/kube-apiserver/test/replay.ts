/**
 * Replays recorded exchanges from the golden transcripts against the server and compares status codes
 * and bodies modulo what is volatile (uids, timestamps, resourceVersion values, continue tokens,
 * managedFields). Recorded resourceVersions in requests are rewritten to the ones this server issued.
 */
import fs from "node:fs";
import path from "node:path";
import type { KubeApiServer } from "../src/index";
import { request, type Response } from "./harness";

export const transcriptDir = "/work/shared/kube-api-transcripts";

export interface Exchange {
  note?: string;
  method: string;
  path: string;
  requestHeaders?: Record<string, string>;
  requestBody?: unknown;
  status?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: unknown;
}

export function loadTranscript(file: string): Exchange[] {
  return JSON.parse(fs.readFileSync(path.join(transcriptDir, file), "utf8")) as Exchange[];
}

const volatileKeys = new Set(["uid", "creationTimestamp", "resourceVersion", "managedFields", "deletionTimestamp", "time", "continue", "lastTransitionTime", "generateName"]);

/** Objects the real cluster's controllers made, which this server (without controllers) does not have. */
const controllerMade = new Set(["kube-root-ca.crt"]);

export function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => !(isRecord(v) && isRecord(v.metadata) && controllerMade.has(String(v.metadata.name)))).map(normalize);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (volatileKeys.has(k)) continue;
      out[k] = normalize(v);
    }
    return out;
  }
  if (typeof value === "string") return value.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uid>").replace(/^gen-[a-z0-9]{5}$/, "gen-<suffix>");
  return value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export class Replayer {
  /** recorded resourceVersion → the one this server issued for the same write */
  private readonly rvs = new Map<string, string>();

  constructor(private readonly server: KubeApiServer) {}

  private rewrite(text: string): string {
    let out = text;
    for (const [recorded, ours] of this.rvs) out = out.replace(new RegExp(`"resourceVersion":\\s*"${recorded}"`, "g"), `"resourceVersion":"${ours}"`).replace(new RegExp(`resourceVersion=${recorded}(?!\\d)`, "g"), `resourceVersion=${ours}`);
    return out;
  }

  async play(ex: Exchange): Promise<Response> {
    const body = ex.requestBody === undefined || ex.requestBody === null ? undefined : typeof ex.requestBody === "string" ? this.rewrite(ex.requestBody) : this.rewrite(JSON.stringify(ex.requestBody));
    const headers = ex.requestHeaders ?? {};
    const res = await request(this.server, ex.method, this.rewrite(ex.path), {
      ...(body !== undefined ? { body, contentType: headers["Content-Type"] ?? "application/json" } : {}),
      ...(headers.Accept !== undefined ? { accept: headers.Accept } : {}),
      userAgent: headers["User-Agent"] ?? "kube-api-transcript-recorder/1.0",
    });
    const recorded = isRecord(ex.responseBody) && isRecord(ex.responseBody.metadata) ? ex.responseBody.metadata.resourceVersion : undefined;
    const ours = isRecord(res.json) && isRecord(res.json.metadata) ? res.json.metadata.resourceVersion : undefined;
    if (typeof recorded === "string" && typeof ours === "string") this.rvs.set(recorded, ours);
    return res;
  }
}
