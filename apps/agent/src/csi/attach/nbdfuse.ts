/**
 * The fallback attach, part 1: `nbdfuse` exposes an NBD export as a regular
 * file in a FUSE mount (`nbdfuse DIR/nbd nbd://HOST:PORT/EXPORT` mounts DIR
 * holding the file `nbd`). The process serves the file for as long as the
 * mount lives, so it is spawned in its own process group and outlives a
 * restart of the node plugin (mounted file systems above it keep working);
 * its pid is kept in the attach state so whichever process unstages can end it.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pollUntil } from "@stowage/supervisor";
import { internal } from "../errors";
import { mountAt, unmountAll } from "./mounts";

export interface FuseExport {
  dir: string;
  file: string;
  pid: number;
}

export interface NbdfuseOptions {
  dir: string;
  address: string;
  exportName: string;
  logFile: string;
  /** Called when the process exits while this plugin is its parent (not after a restart). */
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  timeoutMs?: number;
}

export function nbdUri(address: string, exportName: string): string {
  return `nbd://${address}/${encodeURIComponent(exportName)}`;
}

export async function startNbdfuse(o: NbdfuseOptions): Promise<FuseExport> {
  fs.mkdirSync(o.dir, { recursive: true });
  // A dead nbdfuse leaves its mount behind ("transport endpoint is not connected"); clear it first.
  if (await mountAt(o.dir)) await unmountAll("nbdfuse: clear a stale FUSE mount", o.dir);
  const file = path.join(o.dir, "nbd");
  let log: number;
  try {
    fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
    log = fs.openSync(o.logFile, "a");
  } catch (err) {
    throw internal(`nbdfuse: cannot open its log ${o.logFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let exited: string | null = null;
  const child = spawn("nbdfuse", [file, nbdUri(o.address, o.exportName)], { detached: true, stdio: ["ignore", log, log] });
  fs.closeSync(log);
  child.on("error", (err) => {
    exited = err.message;
  });
  child.on("exit", (code, signal) => {
    exited = `exited ${code ?? signal ?? "?"}`;
    o.onExit(code, signal);
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw internal("nbdfuse: could not start (is nbdfuse installed?)");
  try {
    await pollUntil(
      () => {
        if (exited !== null) throw internal(`nbdfuse: ${exited} before exposing ${o.exportName}; see ${o.logFile}`);
        return fs.statSync(file, { throwIfNoEntry: false })?.isFile() === true;
      },
      { what: `nbdfuse to expose ${o.exportName}`, timeoutMs: o.timeoutMs ?? 30_000, intervalMs: 50 },
    );
  } catch (err) {
    await stopNbdfuse({ dir: o.dir, file, pid });
    throw err instanceof Error && err.name === "CsiError" ? err : internal(`nbdfuse: ${err instanceof Error ? err.message : String(err)}; see ${o.logFile}`);
  }
  return { dir: o.dir, file, pid };
}

/** Whether `pid` is a live nbdfuse (not a recycled pid of something else). */
export function isNbdfuse(pid: number): boolean {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return cmd.split("\0")[0]?.endsWith("nbdfuse") === true && state !== "Z";
  } catch {
    return false;
  }
}

/** Unmounts the FUSE dir (nbdfuse exits when it goes), then makes sure the process is gone. */
export async function stopNbdfuse(f: FuseExport): Promise<void> {
  // As root, umount(8) ends a FUSE mount without fusermount (which the node image need not have).
  await unmountAll("nbdfuse: unmount the FUSE dir", f.dir);
  if (isNbdfuse(f.pid)) {
    try {
      process.kill(f.pid, "SIGTERM");
    } catch {
      // Gone meanwhile.
    }
    await pollUntil(() => !isNbdfuse(f.pid), { what: `nbdfuse ${f.pid} to exit`, timeoutMs: 10_000 }).catch(() => {
      try {
        process.kill(f.pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    });
  }
}
