/**
 * Real processes for the system suite: the control plane through its
 * launcher, etcd, `stowage-agent node` and `stowage-agent cluster`, each in
 * its own process group so a test can kill -9 one of them (with the engine it
 * runs) and the suite can always take every one of them down.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
export const WEB_DIR = path.join(REPO_ROOT, "apps", "web");
export const AGENT_BIN = path.join(REPO_ROOT, "apps", "agent", "bin", "stowage-agent.mjs");
export const ENGINE_BIN = path.join(REPO_ROOT, "packages", "engine", "bin", "stowage-engine.mjs");

/** A port nobody listens on right now (the kernel's pick for an ephemeral bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port from the kernel"))));
    });
  });
}

export interface EventuallyOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What was being waited for, for the failure message. */
  what: string;
}

/**
 * Polls `check` until it returns something other than undefined/false, or
 * throws when the deadline passes with the last value or error it saw.
 */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, opts: EventuallyOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${opts.timeoutMs / 1000}s waiting for ${opts.what} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}

/** Every process group started by this suite, killed when the test process exits whatever happened. */
const groups = new Set<number>();
process.once("exit", () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

export interface ProcOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  logDir: string;
}

/** One child process leading its own process group; stdout and stderr go to `<logDir>/<name>.log`. */
export class Proc {
  readonly name: string;
  readonly logFile: string;
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly watchers = new Set<(line: string) => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(opts: ProcOptions) {
    this.name = opts.name;
    this.logFile = path.join(opts.logDir, `${opts.name}.log`);
    fs.mkdirSync(opts.logDir, { recursive: true });
    const out = fs.openSync(this.logFile, "a");
    this.child = spawn(opts.command, opts.args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const pid = this.child.pid;
    if (pid !== undefined) groups.add(pid);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        if (pid !== undefined) groups.delete(pid);
        resolve({ code, signal });
      });
      this.child.once("error", () => resolve({ code: null, signal: null }));
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let buf = "";
      stream?.on("data", (d: Buffer) => {
        fs.appendFileSync(out, d);
        buf += d.toString();
        const parts = buf.split("\n");
        buf = parts.pop() ?? "";
        for (const line of parts) {
          this.lines.push(line);
          if (this.lines.length > 200) this.lines.shift();
          for (const w of this.watchers) w(line);
        }
      });
    }
    void this.exited.then(() => fs.closeSync(out));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines it printed, for a failure report. */
  tail(n = 40): string {
    return this.lines.slice(-n).join("\n");
  }

  /** Resolves with the first line (from now on) that `match` accepts; rejects if the process exits first. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(watch);
        fn();
      };
      const watch = (line: string) => {
        if (match(line)) done(() => resolve(line));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name}: no matching line within ${timeoutMs / 1000}s; see ${this.logFile}\n${this.tail()}`))), timeoutMs);
      this.watchers.add(watch);
      void this.exited.then(({ code, signal }) => done(() => reject(new Error(`${this.name} exited (${code ?? signal}); see ${this.logFile}\n${this.tail()}`))));
    });
  }

  /** Signals the process itself (a launcher stops its own children on SIGTERM). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** Signals the whole process group: the process and everything it started. */
  signalGroup(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone already
    }
  }

  /** True while any process of its group (it, or anything it started) is alive. */
  groupAlive(): boolean {
    const pid = this.child.pid;
    if (pid === undefined) return false;
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM to the process, then SIGKILL to its group if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.running) {
      this.signal("SIGTERM");
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
      if ((await Promise.race([this.exited, timer])) === "timeout") this.signalGroup("SIGKILL");
      await this.exited;
    }
    // Whatever it started and left behind goes too.
    this.signalGroup("SIGKILL");
  }
}

/** Runs a command to completion; rejects with its output when it fails. */
export function runToEnd(command: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${path.basename(command)} ${args.slice(0, 2).join(" ")} exited with ${code ?? signal}:\n${output}`));
    });
  });
}

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
