/**
 * The production attach: the kernel's NBD client through the `nbd-client`
 * tool (`nbd-client HOST PORT /dev/nbdX -N EXPORT`), which connects and hands
 * the socket to nbd.ko. Chosen only where the module is loaded (or loads) and
 * the tool is installed; elsewhere the node plugin uses nbdfuse + loop.
 */
import fs from "node:fs";
import { runCommand, runStep } from "./exec";

export async function kernelNbdAvailable(): Promise<boolean> {
  const tool = await runCommand("nbd-client", ["--help"]).then(
    () => true,
    () => false,
  );
  if (!tool) return false;
  if (fs.existsSync("/sys/module/nbd")) return true;
  const loaded = await runCommand("modprobe", ["nbd"]).then(
    (r) => r.code === 0,
    () => false,
  );
  return loaded && fs.existsSync("/sys/module/nbd");
}

/** A /dev/nbdN no client holds (sysfs shows a `pid` file while one does). */
function freeNbdDevice(): string | null {
  for (let i = 0; fs.existsSync(`/sys/block/nbd${i}`); i++) {
    if (!fs.existsSync(`/sys/block/nbd${i}/pid`)) return `/dev/nbd${i}`;
  }
  return null;
}

export async function connectKernelNbd(address: string, exportName: string): Promise<string> {
  const device = freeNbdDevice();
  if (!device) throw new Error("no free /dev/nbd device");
  const i = address.lastIndexOf(":");
  await runStep("nbd-client: connect the kernel NBD device", "nbd-client", [address.slice(0, i), address.slice(i + 1), device, "-N", exportName, "-b", "4096"]);
  return device;
}

export async function disconnectKernelNbd(device: string): Promise<void> {
  await runStep("nbd-client: disconnect the kernel NBD device", "nbd-client", ["-d", device]);
}
