/**
 * Serves one plain file through the Stowage NBD server (export "bench") on a
 * Unix socket: the frontend without the volume layer, for the benchmark.
 * Usage: nbd-file-server.ts FILE SIZE SOCKET — prints "ready" when listening.
 */
import { NbdServer } from "../src/nbd/server";
import { FileBlockDevice } from "../src/nbd/testing/file-device";

const [file, sizeArg, socket] = process.argv.slice(2);
if (file === undefined || sizeArg === undefined || socket === undefined) throw new Error("usage: nbd-file-server.ts FILE SIZE SOCKET");
const device = await FileBlockDevice.open(file, Number(sizeArg));
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
