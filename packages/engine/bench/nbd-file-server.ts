/**
 * Serves one plain file — or, with FILE "null", a device that stores nothing
 * and reads zeroes — through the Stowage NBD server (export "bench") on a
 * Unix socket: the frontend without the volume layer, for the benchmark.
 * Usage: nbd-file-server.ts FILE|null SIZE SOCKET — prints "ready" when listening.
 */
import type { BlockDevice } from "../src/block-device";
import { parseSize, scriptArgs, UsageError } from "../src/cli/args";
import { NbdServer } from "../src/nbd/server";
import { FileBlockDevice } from "../src/nbd/testing/file-device";

const [file, size, socket] = scriptArgs(
  { name: "nbd-file-server", usage: "Usage: nbd-file-server.ts FILE|null SIZE SOCKET", options: {}, positionals: true },
  ({ positionals: [file, size, socket, ...more] }) => {
    if (file === undefined || size === undefined || socket === undefined || more.length > 0) throw new UsageError("expects FILE|null SIZE SOCKET");
    return [file, parseSize(size, "SIZE"), socket] as const;
  },
);

/** Protocol cost only, like nbdkit's null plugin. */
class NullDevice implements BlockDevice {
  readonly blockSize = 4096;
  readonly readOnly = false;
  constructor(readonly size: number) {}
  async read(_offset: number, target: Buffer): Promise<void> {
    target.fill(0);
  }
  async write(): Promise<void> {}
  async flush(): Promise<void> {}
  async trim(): Promise<void> {}
  async writeZeroes(): Promise<void> {}
  async close(): Promise<void> {}
}

const device = file === "null" ? new NullDevice(size) : await FileBlockDevice.open(file, size);
const server = new NbdServer();
server.addExport("bench", device);
await server.listenUnix(socket);
process.stdout.write("ready\n");
const stop = async (): Promise<void> => {
  await server.close();
  await device.close();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
