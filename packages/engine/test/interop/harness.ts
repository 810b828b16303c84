/**
 * Helpers for tests that drive real NBD clients against a real
 * `stowage-engine serve` process. Missing client binaries fail loudly: a
 * silently skipped interop test would hide exactly the regressions it exists for.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { AdminClient } from "../../src/admin/client";

export const ENGINE_ROOT = path.resolve(import.meta.dirname, "../..");
export const BIN = path.join(ENGINE_ROOT, "bin/stowage-engine.mjs");

const PACKAGE_OF: Record<string, string> = {
  "qemu-io": "qemu-utils",
  "qemu-img": "qemu-utils",
  "qemu-nbd": "qemu-utils",
  nbdinfo: "libnbd-bin",
  nbdcopy: "libnbd-bin",
  fio: "fio",
  nbdkit: "nbdkit",
};

/** Throws naming every missing binary and the Debian package that provides it. */
export function requireTools(...tools: string[]): void {
  const missing = tools.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => PACKAGE_OF[t] ?? t))];
    throw new Error(`interop test needs ${missing.join(", ")} on PATH: apt-get install -y ${packages.join(" ")}`);
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command to completion; rejects with its stderr when it exits non-zero (unless `allowFailure`). */
export function run(cmd: string, args: string[], opts: { allowFailure?: boolean; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const result = { stdout, stderr, code: code ?? -1 };
      if (result.code !== 0 && !opts.allowFailure) reject(new Error(`${cmd} ${args.join(" ")} exited ${result.code}: ${stderr.trim() || stdout.trim()}`));
      else resolve(result);
    });
    child.stdin.end(opts.input ?? "");
  });
}

export interface RunningNode {
  dir: string;
  pool: string;
  socket: string;
  nbd: string;
  admin: string;
  client: AdminClient;
  process: ChildProcess;
  /** nbd+unix URI of an export. */
  unixUri(name: string): string;
  /** nbd:// (TCP) URI of an export. */
  tcpUri(name: string): string;
  stop(): Promise<void>;
}

/** Starts `stowage-engine serve` on free ports in a fresh temp dir and waits for its ready line. */
export async function startNode(): Promise<RunningNode> {
  const dir = await mkdtemp(path.join(tmpdir(), "stowage-interop-"));
  const pool = path.join(dir, "pool");
  const socket = path.join(dir, "nbd.sock");
  const child = spawn(process.execPath, [BIN, "serve", "--pool", pool, "--nbd", "127.0.0.1:0", "--socket", socket, "--admin", "127.0.0.1:0", "--log-level", "warn"], {
    cwd: ENGINE_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const ready = await new Promise<{ nbd: string; admin: string }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      try {
        resolve(JSON.parse(line) as { nbd: string; admin: string });
      } catch {
        reject(new Error(`unexpected first line from serve: ${line}`));
      }
    });
    child.once("exit", (code) => reject(new Error(`stowage-engine serve exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    dir,
    pool,
    socket,
    nbd: ready.nbd,
    admin: ready.admin,
    client: new AdminClient(ready.admin),
    process: child,
    unixUri: (name) => `nbd+unix:///${name}?socket=${socket}`,
    tcpUri: (name) => `nbd://${ready.nbd}/${name}`,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
