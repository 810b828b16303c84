/** Mount points as the kernel reports them (/proc/self/mountinfo), and mount/umount through the mount(8) tools. */
import fs from "node:fs/promises";
import { runStep } from "./exec";

export interface MountEntry {
  mountPoint: string;
  /** The mount's source as mount(8) reports it (a device path for block file systems). */
  source: string;
  fsType: string;
  options: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export async function mountTable(): Promise<MountEntry[]> {
  const text = await fs.readFile("/proc/self/mountinfo", "utf8");
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const [left, right] = line.split(" - ");
    const l = left?.split(" ") ?? [];
    const r = right?.split(" ") ?? [];
    const mountPoint = l[4];
    if (mountPoint === undefined) continue;
    entries.push({ mountPoint: unescape(mountPoint), source: unescape(r[1] ?? ""), fsType: r[0] ?? "", options: (l[5] ?? "").split(",") });
  }
  return entries;
}

/** The last (topmost) mount at `path`, or null. */
export async function mountAt(path: string): Promise<MountEntry | null> {
  const all = (await mountTable()).filter((m) => m.mountPoint === path);
  return all.at(-1) ?? null;
}

export async function mount(step: string, args: readonly string[]): Promise<void> {
  await runStep(step, "mount", args);
}

/** Unmounts every mount stacked at `path`; nothing to do when none is. */
export async function unmountAll(step: string, path: string): Promise<void> {
  while (await mountAt(path)) await runStep(step, "umount", [path]);
}
