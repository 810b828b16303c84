/**
 * The fallback attach, part 2: a loop device over the nbdfuse file. Direct
 * I/O so pages are not cached twice (in the loop's backing file and in the
 * file system above); 4 KiB logical sectors because a direct-I/O read through
 * FUSE must be 4 KiB aligned (a 1 KiB superblock read fails otherwise), which
 * is also the engine's block size.
 */
import fs from "node:fs";
import path from "node:path";
import { runStep } from "./exec";

export async function attachLoop(file: string): Promise<string> {
  const out = await runStep("losetup: attach the loop device", "losetup", ["--find", "--show", "--direct-io=on", "--sector-size", "4096", file]);
  const device = out.trim();
  if (!/^\/dev\/loop\d+$/.test(device)) throw new Error(`losetup printed ${device}, not a loop device`);
  return device;
}

/** The loop devices whose backing file is `file` (a restarted plugin finds its device this way too). */
export async function loopDevicesOf(file: string): Promise<string[]> {
  const out = await runStep("losetup: list loop devices", "losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"]);
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols[1] === file && cols[0] !== undefined)
    .map((cols) => cols[0] ?? "");
}

export async function detachLoop(device: string): Promise<void> {
  if (!fs.existsSync(`/sys/block/${path.basename(device)}/loop`)) return;
  await runStep("losetup: detach the loop device", "losetup", ["--detach", device]);
}

/** A block device's size in bytes, from sysfs (512-byte sectors whatever the logical sector size). */
export function blockDeviceSize(device: string): number {
  const real = fs.realpathSync(device);
  const sectors = Number(fs.readFileSync(`/sys/class/block/${path.basename(real)}/size`, "utf8").trim());
  return sectors * 512;
}
