/** Two ends of a loopback TCP connection, each as a FrameSocket, for tests of the link's timers. */
import net from "node:net";
import { FrameSocket } from "../wire";

export interface SocketPair {
  /** The connecting end. */
  client: FrameSocket;
  /** The accepting end. */
  server: FrameSocket;
  close(): Promise<void>;
}

export async function socketPair(): Promise<SocketPair> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const bound = listener.address();
  if (bound === null || typeof bound === "string") throw new Error("no loopback address");
  const accepted = new Promise<net.Socket>((resolve) => listener.once("connection", resolve));
  const raw = net.connect(bound.port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    raw.once("connect", resolve);
    raw.once("error", reject);
  });
  const other = await accepted;
  // Byte by byte when a test trickles: no Nagle holding small writes back.
  raw.setNoDelay(true);
  other.setNoDelay(true);
  return {
    client: new FrameSocket(raw),
    server: new FrameSocket(other),
    close: async () => {
      raw.destroy();
      other.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

/** Writes `bytes` one at a time, `everyMs` apart; resolves after the last. */
export function trickle(socket: net.Socket, bytes: Buffer, everyMs: number): Promise<void> {
  return new Promise((resolve) => {
    let at = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) {
        clearInterval(timer);
        resolve();
        return;
      }
      socket.write(bytes.subarray(at, at + 1));
      at++;
      if (at >= bytes.length) {
        clearInterval(timer);
        resolve();
      }
    }, everyMs);
  });
}
