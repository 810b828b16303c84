import type { TLSSocket } from "node:tls";
import tls from "node:tls";
import { BlockIoError, type BlockDevice } from "../block-device";
import { EngineError } from "../errors";
import type { EpochGuard } from "./epoch-guard";
import {
  decodeHello,
  decodeName,
  decodeNames,
  encodeHeader,
  FLAG_FUA,
  FrameReader,
  MessageType,
  NackReason,
  payloadCrc,
  type Header,
} from "./protocol";
import type { ReplicaSnapshots } from "./replica-snapshots";
import { nodeIdOf, type PemPair } from "./tls";

/** A replica as the server sees it: its data and its fencing state. */
export interface ServedReplica {
  device: BlockDevice;
  epoch: EpochGuard;
  /** Local snapshots of the replica; without them SNAPSHOT requests are refused as invalid. */
  snapshots?: ReplicaSnapshots;
  /**
   * Grows the device (thin). Without it GROW is refused as invalid, and so is a HELLO
   * announcing a bigger volume than the device.
   */
  grow?: (sizeBytes: number) => Promise<void>;
}

export interface ReplicaServerOptions {
  tls: PemPair & { caPem: string };
  /** Finds the replica a HELLO names; null refuses the connection. */
  resolve(volumeId: string, replicaId: string): ServedReplica | null | Promise<ServedReplica | null>;
  /** Frames a connection may have in flight before the target must wait. */
  credits?: number;
  onError?: (err: unknown) => void;
}

function nackFor(err: unknown): number {
  if (err instanceof BlockIoError) {
    if (err.code === "ENOSPC") return NackReason.NoSpace;
    if (err.code === "EINVAL") return NackReason.Invalid;
  }
  // A grow the pool cannot provision.
  if (err instanceof EngineError && (err.code === "OVERCOMMIT" || err.code === "NO_SPACE")) return NackReason.NoSpace;
  return NackReason.IoError;
}

/**
 * Serves replicas to targets on other nodes over mutual TLS. One connection
 * carries one (volume, replica) pair; requests are pipelined and answered as
 * they complete, with the request's seq echoed.
 */
export class ReplicaServer {
  private readonly server: tls.Server;
  private readonly sockets = new Set<TLSSocket>();

  constructor(private readonly opts: ReplicaServerOptions) {
    this.server = tls.createServer({
      cert: opts.tls.certPem,
      key: opts.tls.keyPem,
      ca: opts.tls.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.3",
    });
    this.server.on("secureConnection", (s) => this.accept(s));
    this.server.on("tlsClientError", (err) => opts.onError?.(err));
  }

  async listen(port: number, host = "127.0.0.1"): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const addr = this.server.address();
    if (!addr || typeof addr === "string") throw new Error("replica server has no address");
    return { host, port: addr.port };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const peer = nodeIdOf(socket.getPeerCertificate().raw) ?? "unknown";
    let replica: ServedReplica | null = null;
    let helloPending = false;
    let connectionEpoch = 0n;
    const credits = this.opts.credits ?? 128;

    // Replies completed in one turn of the event loop leave in one TLS record (see the client).
    let corked = false;
    const reply = (req: Header, type: MessageType, aux = 0, payload?: Buffer): void => {
      if (socket.destroyed) return;
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(() => {
          corked = false;
          socket.uncork();
        });
      }
      const body = payload ?? Buffer.alloc(0);
      const head = encodeHeader({
        type,
        flags: 0,
        aux,
        epoch: replica?.epoch.current ?? 0n,
        seq: req.seq,
        offset: req.offset,
        length: body.length,
        payloadCrc: payloadCrc(body),
      });
      socket.write(head);
      if (body.length) socket.write(body);
    };

    const serve = async (h: Header, payload: Buffer): Promise<void> => {
      const r = replica;
      if (!r) return;
      // Fencing: a newer target may have raised the epoch since this connection's HELLO.
      if (!r.epoch.admits(h.epoch) || h.epoch !== connectionEpoch) {
        reply(h, MessageType.Nack, NackReason.StaleEpoch);
        return;
      }
      const offset = Number(h.offset);
      const fua = (h.flags & FLAG_FUA) !== 0;
      try {
        switch (h.type) {
          case MessageType.Write:
            // The frame reader verified the payload against its CRC; the volume stores it as the block checksum.
            await r.device.write(offset, payload, { fua, crc: h.payloadCrc });
            break;
          case MessageType.WriteZeroes:
            await r.device.writeZeroes(offset, h.aux, { fua });
            break;
          case MessageType.Trim:
            await r.device.trim(offset, h.aux, { fua });
            break;
          case MessageType.Flush:
            await r.device.flush();
            break;
          case MessageType.Read: {
            const buf = Buffer.allocUnsafe(h.aux);
            await r.device.read(offset, buf);
            // Re-check: the read may have raced a takeover; an old target must not act on it.
            if (!r.epoch.admits(h.epoch)) {
              reply(h, MessageType.Nack, NackReason.StaleEpoch);
              return;
            }
            reply(h, MessageType.Ack, 0, buf);
            return;
          }
          case MessageType.Heartbeat:
            break;
          case MessageType.Snapshot:
          case MessageType.SnapshotDelete:
          case MessageType.SnapshotSync: {
            const snaps = r.snapshots;
            if (!snaps) {
              reply(h, MessageType.Nack, NackReason.Invalid);
              return;
            }
            if (h.type === MessageType.Snapshot) await snaps.create(decodeName(payload));
            else if (h.type === MessageType.SnapshotDelete) await snaps.delete(decodeName(payload));
            else await snaps.keepOnly(decodeNames(payload));
            break;
          }
          case MessageType.Grow:
            if (!r.grow) {
              reply(h, MessageType.Nack, NackReason.Invalid);
              return;
            }
            await r.grow(offset);
            break;
          case MessageType.Hello:
          case MessageType.HelloAck:
          case MessageType.Ack:
          case MessageType.Nack:
            reply(h, MessageType.Nack, NackReason.Invalid);
            return;
        }
        reply(h, MessageType.Ack);
      } catch (err) {
        reply(h, MessageType.Nack, nackFor(err));
      }
    };

    const hello = async (h: Header, payload: Buffer): Promise<void> => {
      helloPending = true;
      const msg = decodeHello(payload);
      const found = await this.opts.resolve(msg.volumeId, msg.replicaId);
      if (!found) {
        reply(h, MessageType.Nack, NackReason.UnknownVolume);
        socket.end();
        return;
      }
      // Volumes only grow: a target announcing a bigger size saw the record grow while this
      // replica was away (or before its node applied it), so the replica catches up on the size
      // first. A smaller size is another volume's view, or a target from before the growth.
      const grow = found.grow;
      if (found.device.size > msg.sizeBytes || (found.device.size < msg.sizeBytes && !grow)) {
        reply(h, MessageType.Nack, NackReason.WrongReplica);
        socket.end();
        return;
      }
      if (!(await found.epoch.advance(h.epoch))) {
        reply(h, MessageType.Nack, NackReason.StaleEpoch);
        socket.end();
        return;
      }
      if (grow && found.device.size < msg.sizeBytes) {
        try {
          await grow(msg.sizeBytes);
        } catch (err) {
          reply(h, MessageType.Nack, nackFor(err));
          socket.end();
          return;
        }
      }
      replica = found;
      connectionEpoch = h.epoch;
      helloPending = false;
      reply(h, MessageType.HelloAck, credits);
    };

    const reader = new FrameReader((h, payload) => {
      if (!replica) {
        if (h.type !== MessageType.Hello || helloPending) {
          socket.destroy();
          return;
        }
        hello(h, payload).catch((err: unknown) => {
          this.opts.onError?.(err);
          socket.destroy();
        });
        return;
      }
      // Socket chunks are fresh buffers (no `onread` reuse on TLS sockets), so the payload can be kept as is.
      void serve(h, payload);
    });

    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        // A malformed frame ends this connection only; other replicas keep serving.
        this.opts.onError?.(new Error(`replica connection from ${peer}: ${err instanceof Error ? err.message : String(err)}`));
        socket.destroy();
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => this.sockets.delete(socket));
  }
}

