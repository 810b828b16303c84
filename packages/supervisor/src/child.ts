/** One child process as a Service: spawned, its output forwarded, waited for until ready, stopped within a time limit. */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { silentLogger, type SupervisorLogger } from "./logger";
import { pollUntil, withTimeout } from "./poll";
import type { Service } from "./service";

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The exit code a shell reports for a child: its own, or 128 + the number of the signal that ended it. */
export function exitCode(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  const n = status.signal === null ? undefined : os.constants.signals[status.signal];
  return n === undefined ? 1 : 128 + n;
}

function describeExit(status: ExitStatus): string {
  return String(status.code ?? status.signal ?? "?");
}

/**
 * Where the child's stdout and stderr go:
 * - `"inherit"`: straight to ours (no line matching);
 * - `"ignore"`: nowhere (lines can still be matched);
 * - `{ logFile }`: appended to the file;
 * - `{ prefix }`: each line to our stdout/stderr, after the prefix.
 */
export type ChildOutput = "inherit" | "ignore" | { logFile: string } | { prefix: string };

export type OutputStream = "stdout" | "stderr";

export interface ChildOptions {
  name: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  /** The child's whole environment; default ours. */
  env?: NodeJS.ProcessEnv;
  /** Default `"inherit"`. */
  output?: ChildOutput;
  /** Every line the child prints (not with `output: "inherit"`). */
  onLine?: (line: string, stream: OutputStream) => void;
  /** Ready at the first stdout line it accepts (kept as `readyLine`). */
  readyLine?: (line: string) => boolean;
  /** Ready once this answers true; polled every `readyIntervalMs` (default 100 ms). */
  ready?: () => Promise<boolean>;
  readyIntervalMs?: number;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** SIGTERM, then SIGKILL after this long (default 8 s). */
  stopTimeoutMs?: number;
  /**
   * The child stops when this process dies, even by SIGKILL: its stdin is a
   * pipe from us, and it exits when the pipe ends (the engine's
   * STOWAGE_EXIT_WITH_PARENT).
   */
  exitWithParent?: boolean;
  /**
   * The child leads its own process group: `signal(sig, { group: true })` and a
   * stop reach everything it started, and a terminal's Ctrl-C does not.
   */
  detached?: boolean;
  /**
   * Called when the child exits; `expected` is false unless `stop()` ended it.
   * Without it an unexpected exit is logged as a warning.
   */
  onExit?: (status: ExitStatus, expected: boolean) => void;
  log?: SupervisorLogger;
}

interface Run {
  child: ChildProcess;
  exited: Promise<ExitStatus>;
  stopping: boolean;
  /** Aborted when the child exits or is being stopped: readiness polls end there. */
  over: AbortController;
  /** The first stdout line `readyLine` accepts (pending forever without `readyLine`). */
  lineReady: Promise<string> | null;
}

/** Children still running when this process exits (a stop that ran out of time) are killed, never left behind. */
const live = new Set<ChildService>();
let exitHookInstalled = false;
function track(c: ChildService): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const child of live) child.kill();
    });
  }
  live.add(c);
}

const TAIL_LINES = 200;

/**
 * Whether a process of group `pgid` is alive. A zombie does not count: an
 * orphan that exited waits for init to reap it, and some inits (containers,
 * microVMs) take their time.
 */
function groupAlive(pgid: number): boolean {
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  return pids.some((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return pgrp === String(pgid) && state !== "Z" && state !== "X";
    } catch {
      return false;
    }
  });
}

export class ChildService implements Service {
  readonly name: string;
  /** The stdout line `readyLine` accepted, once it has. */
  readyLine: string | null = null;
  private run: Run | null = null;
  private readonly lines: string[] = [];
  private readonly watchers = new Set<(line: string, stream: OutputStream) => void>();
  private readonly log: SupervisorLogger;

  constructor(protected readonly opts: ChildOptions) {
    this.name = opts.name;
    this.log = opts.log ?? silentLogger;
    if (opts.output === "inherit" && (opts.readyLine || opts.onLine)) throw new Error(`${opts.name}: lines cannot be matched with output "inherit"`);
  }

  get pid(): number | undefined {
    return this.run?.child.pid;
  }

  get running(): boolean {
    const c = this.run?.child;
    return c !== undefined && c.pid !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** The log file, when output goes to one. */
  get logFile(): string | undefined {
    const out = this.opts.output;
    return typeof out === "object" && "logFile" in out ? out.logFile : undefined;
  }

  /** How the last run ended; pending while it runs (resolved at once if it never ran). */
  get exited(): Promise<ExitStatus> {
    return this.run?.exited ?? Promise.resolve({ code: null, signal: null });
  }

  /** The last lines it printed (both streams), for a failure report. */
  tail(n = 40): string {
    return this.lines.slice(-n).join("\n");
  }

  private where(): string {
    const file = this.logFile;
    const tail = this.tail(20);
    return `${file ? `; see ${file}` : ""}${tail ? `\n${tail}` : ""}`;
  }

  /** Spawns the child without waiting for it to be ready. */
  spawn(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const o = this.opts;
    const output = o.output ?? "inherit";
    const piped = output !== "inherit";
    const stdio: StdioOptions = [o.exitWithParent ? "pipe" : "ignore", piped ? "pipe" : "inherit", piped ? "pipe" : "inherit"];
    const env = o.env ?? process.env;
    const logFile = this.logFile;
    if (logFile) fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const sink = logFile ? fs.createWriteStream(logFile, { flags: "a" }) : null;
    sink?.on("error", () => undefined);
    this.readyLine = null;
    const child = spawn(o.command, [...o.args], {
      ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
      env: o.exitWithParent ? { ...env, STOWAGE_EXIT_WITH_PARENT: "1" } : env,
      stdio,
      detached: o.detached ?? false,
    });
    const over = new AbortController();
    const run: Run = {
      child,
      stopping: false,
      over,
      lineReady: null,
      exited: new Promise<ExitStatus>((resolve) => {
        const done = (status: ExitStatus) => {
          live.delete(this);
          over.abort(new Error(`${this.name} exited (${describeExit(status)}) before it was ready${this.where()}`));
          resolve(status);
        };
        child.once("exit", (code, signal) => done({ code, signal }));
        // A spawn that failed (no such command) may never emit "exit".
        child.once("error", (err) => {
          this.remember(`spawn failed: ${err.message}`, "stderr");
          if (child.pid === undefined) done({ code: null, signal: null });
        });
      }),
    };
    this.run = run;
    track(this);
    const match = o.readyLine;
    if (match) {
      // Watched from the spawn on, so a ready line printed before anyone waits is not missed.
      run.lineReady = new Promise<string>((resolve) => {
        const watch = (line: string, stream: OutputStream) => {
          if (stream !== "stdout" || this.readyLine !== null || !match(line)) return;
          this.readyLine = line;
          this.watchers.delete(watch);
          resolve(line);
        };
        this.watchers.add(watch);
        void run.exited.then(() => this.watchers.delete(watch));
      });
    }
    child.stdin?.on("error", () => undefined);
    if (piped) {
      const prefix = typeof output === "object" && "prefix" in output ? output.prefix : null;
      let open = 2;
      const closed = () => {
        if (--open === 0) sink?.end();
      };
      for (const [stream, name] of [
        [child.stdout, "stdout"],
        [child.stderr, "stderr"],
      ] as const) {
        if (stream) this.scan(stream, name, sink, prefix, closed);
        else closed();
      }
    }
    void run.exited.then((status) => {
      const expected = run.stopping;
      if (o.onExit) o.onExit(status, expected);
      else if (!expected) this.log.warn({ child: this.name, code: status.code, signal: status.signal }, "child process exited");
    });
  }

  private scan(stream: Readable, name: OutputStream, sink: fs.WriteStream | null, prefix: string | null, closed: () => void): void {
    stream.setEncoding("utf8");
    let buf = "";
    stream.on("data", (d: string) => {
      sink?.write(d);
      buf += d;
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      for (const line of parts) this.line(line, name, prefix);
    });
    stream.once("end", () => {
      if (buf !== "") this.line(buf, name, prefix);
      buf = "";
    });
    stream.once("close", closed);
  }

  private line(line: string, stream: OutputStream, prefix: string | null): void {
    if (prefix !== null) (stream === "stdout" ? process.stdout : process.stderr).write(`${prefix}${line}\n`);
    this.remember(line, stream);
    this.opts.onLine?.(line, stream);
  }

  private remember(line: string, stream: OutputStream): void {
    this.lines.push(line);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
    for (const w of this.watchers) w(line, stream);
  }

  /**
   * Resolves with the first line from now on that `match` accepts (on `stream`,
   * default either); rejects if the child exits first or `timeoutMs` passes.
   */
  waitForLine(match: (line: string) => boolean, timeoutMs: number, stream?: OutputStream): Promise<string> {
    const run = this.run;
    if (!run) return Promise.reject(new Error(`${this.name} was never started`));
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(watch);
        run.over.signal.removeEventListener("abort", onExit);
        fn();
      };
      const watch = (line: string, from: OutputStream) => {
        if ((stream === undefined || from === stream) && match(line)) done(() => resolve(line));
      };
      const onExit = () => done(() => reject(run.over.signal.reason instanceof Error ? run.over.signal.reason : new Error(`${this.name} exited`)));
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name}: no matching line within ${timeoutMs / 1000}s${this.where()}`))), timeoutMs);
      this.watchers.add(watch);
      if (run.over.signal.aborted) onExit();
      else run.over.signal.addEventListener("abort", onExit, { once: true });
    });
  }

  /** Spawns the child and waits until it is ready (`readyLine` and `ready`; at once without either). */
  async start(): Promise<void> {
    this.spawn();
    await this.waitUntilReady();
  }

  /**
   * Waits until the spawned child is ready; when it exits first, is stopped
   * meanwhile or the time runs out, stops it and rejects. The `readyLine`
   * is looked for from the spawn on, so nothing printed in between is missed.
   */
  async waitUntilReady(): Promise<void> {
    const run = this.run;
    if (!run) throw new Error(`${this.name} was never started`);
    const o = this.opts;
    const timeoutMs = o.readyTimeoutMs ?? 60_000;
    const ready = o.ready;
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_, reject) => {
      const over = () => reject(run.over.signal.reason instanceof Error ? run.over.signal.reason : new Error(`${this.name} exited`));
      if (run.over.signal.aborted) over();
      else run.over.signal.addEventListener("abort", over, { once: true });
      timer = setTimeout(() => reject(new Error(`${this.name} not ready within ${timeoutMs / 1000}s${this.where()}`)), timeoutMs);
    });
    failed.catch(() => undefined);
    try {
      await Promise.race([
        Promise.all([run.lineReady, ready ? pollUntil(() => ready(), { what: `${this.name} to be ready`, timeoutMs, intervalMs: o.readyIntervalMs ?? 100, signal: run.over.signal }) : undefined]),
        failed,
      ]);
      if (!this.running) throw new Error(`${this.name} exited before it was ready${this.where()}`);
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Signals the child, or with `group` its whole process group (only for `detached` children). */
  signal(sig: NodeJS.Signals, opts: { group?: boolean } = {}): void {
    const pid = this.run?.child.pid;
    if (pid === undefined) return;
    if (opts.group) {
      if (!this.opts.detached) throw new Error(`${this.name} has no process group of its own`);
      try {
        process.kill(-pid, sig);
      } catch {
        // the group is gone already
      }
    } else if (this.running) this.run?.child.kill(sig);
  }

  /** True while any process of its group (it, or anything it started) is alive; only for `detached` children. */
  groupAlive(): boolean {
    const pid = this.run?.child.pid;
    if (pid === undefined || !this.opts.detached) return this.running;
    return groupAlive(pid);
  }

  /** SIGKILL now, to the group when detached (used on exit, where nothing can wait). */
  kill(): void {
    if (this.opts.detached) this.signal("SIGKILL", { group: true });
    else this.signal("SIGKILL");
  }

  /**
   * SIGTERM to the child (a launcher stops its own children), then SIGKILL
   * (to its group when detached) if it has not exited within `timeoutMs`.
   * A detached child's leftovers are killed after it exits.
   */
  async stop(timeoutMs = this.opts.stopTimeoutMs ?? 8_000): Promise<void> {
    const run = this.run;
    if (!run) return;
    run.stopping = true;
    run.over.abort(new Error(`${this.name} was stopped before it was ready`));
    if (this.running) {
      run.child.kill("SIGTERM");
      if ((await withTimeout(run.exited, timeoutMs)) === "timeout") {
        this.log.warn({ child: this.name, timeoutMs }, "child did not stop in time: killing it");
        this.kill();
      }
    }
    await run.exited;
    if (this.opts.detached) this.signal("SIGKILL", { group: true });
  }
}

/**
 * Whether a start failed because a port the child was to bind was taken: its error carries the
 * child's last lines, where Node says EADDRINUSE and etcd "address already in use". A port found
 * free can be taken by another process before the child binds it.
 */
export function startFailedOnTakenPort(err: unknown): boolean {
  return err instanceof Error && /EADDRINUSE|address already in use/.test(err.message);
}
