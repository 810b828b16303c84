/**
 * The source side of one run of one volume: connect to the peer (following a
 * REDIRECT to the destination volume's target), agree on the base (the newest
 * snapshot both sides hold), send the snapshot diff one extent per frame in
 * ascending order with at most WINDOW extents unacknowledged, send again what
 * the destination refuses (NACK), and finish with DONE once every extent is
 * acknowledged. A resumed run (same base and snapshot) starts after the
 * destination's durable cursor.
 *
 * Every reply the sender waits for is timed (StallWatch, link.ts): a link on
 * which nothing moves for as long as the awaited reply may take fails the run
 * with a LinkStalledError naming what was awaited, so it can be resumed,
 * instead of hanging until the kernel gives up on the connection.
 */
import type { BlockDevice } from "../../block-device";
import { EngineError } from "../../errors";
import type { Logger } from "../../logger";
import type { Volume } from "../../volume/volume";
import { compressForWire, extentDigests, extentsOf, planExtents, readExtent, sha256, type ExtentPlan } from "./extents";
import type { TokenBucket } from "./limiter";
import { COMMIT_EVERY_EXTENTS } from "./receiver";
import { connectPeer, LinkStalledError, secondsText, StallWatch, type PairClientTls } from "./link";
import { StageTimes } from "./stages";
import { decodeJson, doneOkSchema, encodeExtentHead, framePool, HEADER_BYTES, helloOkSchema, MessageType, readySchema, redirectSchema, refuseSchema, RefusedError, verifyResultSchema, WireError, type Frame, type FrameSocket, type Hello, type MessageTypeValue } from "./wire";

/**
 * Unacknowledged extents in flight: twice the destination's commit batch (receiver.ts), so the
 * link stays busy while the destination flushes one batch and receives the next.
 */
export const WINDOW = 2 * COMMIT_EVERY_EXTENTS;
const MAX_REDIRECTS = 3;

/** How long the link may carry nothing while the sender waits for a reply (StallWatch, link.ts). */
export interface StallLimits {
  /**
   * While extents are unacknowledged. The destination acknowledges after a commit (its writes
   * done, an fdatasync on every destination replica, an etcd write): well under a second when
   * healthy, seconds with a saturated disk. Meanwhile the link keeps moving (frames going out,
   * ACKs for earlier ones coming back), and under a bandwidth limit frames go in pieces of a
   * quarter second of the rate, so gaps between frames do not count either. 20 s of nothing in
   * either direction is a link that stopped carrying packets, not a slow destination. Without a
   * limit a frame counts as moving once all of it is in the kernel: a link slower than a frame
   * per 20 s (about 1.7 Mbit/s) needs a bandwidth limit to not look stalled.
   */
  ackMs: number;
  /**
   * For HELLO_OK, READY and DONE_OK, whose handling at the destination includes bounded waits
   * of its own (READY: up to 5 s for the previous session and 30 s for the new volume to be
   * attached; DONE_OK: a snapshot through the target).
   */
  replyMs: number;
  /**
   * VERIFY_RESULT comes after the destination read and hashed the whole snapshot: `replyMs`
   * plus the volume's size at this rate (its target reads through its replicas).
   */
  verifyBytesPerSec: number;
}

export const STALL_LIMITS: StallLimits = { ackMs: 20_000, replyMs: 60_000, verifyBytesPerSec: 20_000_000 };

/**
 * Under a bandwidth limit, a frame goes to the link in pieces of a quarter second of the rate
 * (at least 16 KiB), each taken from the limiter before it is written: bytes keep moving all
 * through the frame, so neither end's stall clock has to allow for a whole frame's time at a
 * low limit (4 s at 1 MB/s, minutes below), and a limited link sees no line-rate bursts.
 */
const PIECE_SECONDS = 0.25;
const MIN_PIECE_BYTES = 16 * 1024;

export interface SendProgress {
  bytesToSend: number;
  /** Plan bytes acknowledged or sent in this run (a resumed run starts at what the destination already held). */
  bytesSent: number;
  bytesResent: number;
  /** Bytes written to the TLS socket (frames and headers), before encryption. */
  wireBytes: number;
  base: string | null;
  resumedAfter: number;
}

export interface SendRequest {
  endpoints: readonly string[];
  tls: PairClientTls;
  hello: Hello;
  /** The local replica holding the snapshot (and the base candidates). */
  replica: Pick<Volume, "diff" | "openSnapshot">;
  snapshotCreatedAt: string;
  runIdFor: (base: string | null) => string;
  limiter: TokenBucket;
  signal: AbortSignal;
  onProgress: (p: SendProgress) => void;
  /** Fault-injection seam (see FrameTransform); never set from configuration. */
  frameTransform?: FrameTransform;
  /** Shorter stall limits for tests; never set from configuration. */
  stallLimits?: Partial<StallLimits>;
  logger: Logger;
}

/**
 * Fault injection for tests, reachable only through the in-process API (MobilityOptions,
 * ClusterNode's options, the CLI context): sees each EXTENT frame's body as it leaves, after its
 * digest was taken — `attempt` 0 for its first send in this run, 1 for the first resend — and
 * returns what goes on the wire instead. It must not change `body` in place (the extent's read
 * buffer, reused).
 */
export type FrameTransform = (frame: { extent: number; attempt: number; body: Buffer }) => Buffer;

class Changes {
  private waiters: Array<() => void> = [];
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** A link to the destination and the watch on it (stopped when the link is closed). */
interface Link {
  sock: FrameSocket;
  watch: StallWatch;
  limits: StallLimits;
  close(): void;
}

function watchLink(sock: FrameSocket, endpoint: string, limits: StallLimits): Link {
  const watch = new StallWatch(sock, {
    countOutbound: true,
    stalled: (what, quietMs) => new LinkStalledError(`mobility link to ${endpoint} stalled: no ${what} for ${secondsText(quietMs)}; resume the run once the link is back`),
  });
  return {
    sock,
    watch,
    limits,
    close: () => {
      watch.stop();
      sock.close();
    },
  };
}

/** The next frame, which must be of `type`, allowed `ms` of a quiet link. */
async function awaitReply(link: Link, type: MessageTypeValue, what: string, ms = link.limits.replyMs): Promise<Frame> {
  link.watch.expect(ms, what);
  try {
    return await link.sock.expect(type, what);
  } finally {
    link.watch.idle();
  }
}

/** Opens the link and says HELLO, following redirects; returns the link and the agreed base. */
async function open(req: Pick<SendRequest, "endpoints" | "tls" | "hello" | "signal" | "stallLimits">): Promise<{ link: Link; base: string | null }> {
  const limits = { ...STALL_LIMITS, ...req.stallLimits };
  const errors: string[] = [];
  for (const first of req.endpoints) {
    let endpoint = first;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const at = endpoint;
      const link = await connectPeer(at, req.tls, req.signal).then(
        (sock) => watchLink(sock, at, limits),
        (err: unknown) => {
          errors.push(err instanceof Error ? err.message : String(err));
          return null;
        },
      );
      if (!link) break;
      const { sock } = link;
      sock.sendJson(MessageType.Hello, req.hello);
      // With TLS 1.3 the server checks our certificate after our handshake completes: its refusal arrives here.
      link.watch.expect(limits.replyMs, "reply to HELLO");
      const f = await sock.next().catch((err: unknown) => {
        link.close();
        if (err instanceof LinkStalledError) throw err;
        throw new WireError(`mobility link to ${at}: ${err instanceof Error ? err.message : String(err)}`);
      });
      link.watch.idle();
      if (!f) {
        link.close();
        throw new WireError(`the peer at ${endpoint} closed the link after HELLO`);
      }
      if (f.type === MessageType.Redirect) {
        const r = decodeJson(f, redirectSchema, "REDIRECT");
        link.close();
        endpoint = r.endpoint;
        continue;
      }
      if (f.type === MessageType.Refuse) {
        link.close();
        const r = decodeJson(f, refuseSchema, "REFUSE");
        throw new RefusedError(r.code, r.message);
      }
      if (f.type !== MessageType.HelloOk) {
        link.close();
        throw new WireError(`expected HELLO_OK, got message type ${f.type}`);
      }
      return { link, base: decodeJson(f, helloOkSchema, "HELLO_OK").base };
    }
  }
  throw new WireError(`no endpoint of the peer accepted the link: ${errors.join("; ")}`);
}

export interface SendResult {
  progress: SendProgress;
}

export async function sendVolume(req: SendRequest): Promise<SendResult> {
  const { link, base } = await open(req);
  const { sock } = link;
  const log = req.logger;
  try {
    const snapshot = req.hello.snapshot;
    const plans = planExtents(req.replica.diff(base, snapshot));
    const bytes = plans.reduce((n, p) => n + p.bytes, 0);
    const runId = req.runIdFor(base);
    sock.sendJson(MessageType.Start, { runId, base, snapshot, bytes, extents: plans.length });
    const ready = decodeJson(await awaitReply(link, MessageType.Ready, "READY"), readySchema, "READY");
    const device = req.replica.openSnapshot(snapshot);
    const progress: SendProgress = {
      bytesToSend: bytes,
      bytesSent: plans.filter((p) => p.extent <= ready.lastExtent).reduce((n, p) => n + p.bytes, 0),
      bytesResent: 0,
      wireBytes: 0,
      base,
      resumedAfter: ready.lastExtent,
    };
    req.onProgress(progress);
    log.info({ run: runId, base, bytes, extents: plans.length, resumeAfter: ready.lastExtent }, "mobility run streaming");
    const stages = new StageTimes();
    const streamStarted = performance.now();
    await stream(req, link, device, plans.filter((p) => p.extent > ready.lastExtent), progress, stages);
    stages.add("stream", streamStarted);
    sock.sendJson(MessageType.Done, { snapshot, createdAt: req.snapshotCreatedAt });
    decodeJson(await awaitReply(link, MessageType.DoneOk, "DONE_OK"), doneOkSchema, "DONE_OK");
    progress.wireBytes = sock.bytesOut;
    req.onProgress(progress);
    log.info({ run: runId, stagesMs: stages.summary() }, "mobility run stages");
    return { progress };
  } finally {
    link.close();
  }
}

async function stream(req: SendRequest, link: Link, device: BlockDevice, todo: ExtentPlan[], progress: SendProgress, stages: StageTimes): Promise<void> {
  const { sock, watch } = link;
  const byExtent = new Map(todo.map((p) => [p.extent, p]));
  const inflight = new Set<number>();
  const resend: number[] = [];
  const changes = new Changes();
  // Set by the reader; an array so the checks below are not narrowed away across the awaits.
  const failures: Error[] = [];
  /** Sends of each extent so far in this run (what the frame transform is told). */
  const sends = new Map<number, number>();
  const startWire = sock.bytesOut;
  let next = 0;
  /**
   * Extents taken from `todo` or `resend` but not yet in flight (still being read or waiting for
   * the bandwidth limiter). The reader must not stop while there are any: their ACKs are still to
   * come, and with nothing reading them the run would wait for them forever.
   */
  let sending = 0;

  // The one reader of the link while streaming: ACKs retire extents, NACKs queue them again.
  const reader = (async () => {
    for (;;) {
      if (inflight.size === 0 && resend.length === 0 && sending === 0 && next >= todo.length) return;
      const f = await sock.next();
      if (!f) throw new WireError("the peer closed the link mid-stream");
      if (f.type === MessageType.Ack) {
        const through = f.payload.readInt32BE(0);
        for (const e of [...inflight]) if (e <= through) inflight.delete(e);
      } else if (f.type === MessageType.Nack) {
        const e = f.payload.readUInt32BE(0);
        inflight.delete(e);
        resend.push(e);
      } else if (f.type === MessageType.Refuse) {
        const r = decodeJson(f, refuseSchema, "REFUSE");
        throw new RefusedError(r.code, r.message);
      } else throw new WireError(`unexpected message type ${f.type} while streaming`);
      // Nothing unacknowledged: a quiet link is the limiter's or our own doing, not a stall.
      if (inflight.size === 0) watch.idle();
      changes.notify();
    }
  })().catch((err: unknown) => {
    failures.push(err instanceof Error ? err : new Error(String(err)));
    changes.notify();
  });

  /** Read, digest and (when it pays) deflate one extent; `done` gives its buffer back once the link no longer needs it. */
  const prepare = async (plan: ExtentPlan): Promise<{ rawLength: number; digest: Buffer; compression: number; body: Buffer; done: () => void }> => {
    const pooled = framePool.take();
    const raw = await stages.time("read", readExtent(device, plan, pooled));
    let since = performance.now();
    const digest = sha256(raw);
    stages.add("digest", since);
    since = performance.now();
    const wire = await compressForWire(raw);
    stages.add("deflate", since);
    const done = (): void => framePool.give(pooled);
    // A deflated body is its own buffer: the read one is free at once.
    if (wire.body !== raw) done();
    return { rawLength: raw.length, digest, ...wire, done: wire.body === raw ? done : () => undefined };
  };
  /**
   * Waits for the bandwidth limiter (shared by the peer's streams, so a turn can take a while).
   * The stall clock stops meanwhile: a link kept quiet by our own limiter is not stalled.
   */
  const takeTokens = async (bytes: number): Promise<void> => {
    watch.idle();
    await stages.time("limiter", req.limiter.take(bytes));
    if (inflight.size > 0) watch.expect(link.limits.ackMs, "acknowledgement");
    const failed = failures.at(0);
    if (failed) throw failed;
  };
  // The next extent is read and hashed while the current one drains into the link.
  let prefetched: { extent: number; ready: Promise<Awaited<ReturnType<typeof prepare>>> } | null = null;
  const sendOne = async (plan: ExtentPlan, again: boolean, following?: ExtentPlan): Promise<void> => {
    const mine = prefetched?.extent === plan.extent && !again ? prefetched.ready : prepare(plan);
    prefetched = null;
    const { rawLength, digest, compression, body, done } = await stages.time("prepare-wait", mine);
    if (following) {
      const ready = prepare(following);
      ready.catch(() => undefined); // awaited when its turn comes
      prefetched = { extent: following.extent, ready };
    }
    const attempt = sends.get(plan.extent) ?? 0;
    sends.set(plan.extent, attempt + 1);
    const wireBody = req.frameTransform ? req.frameTransform({ extent: plan.extent, attempt, body }) : body;
    const head = encodeExtentHead(plan.extent, compression, rawLength, digest, plan.ranges);
    const frameBytes = HEADER_BYTES + head.length + wireBody.length;
    const piece = Number.isFinite(req.limiter.rate) ? Math.max(MIN_PIECE_BYTES, Math.floor(req.limiter.rate * PIECE_SECONDS)) : frameBytes;
    if (piece < frameBytes) {
      inflight.add(plan.extent);
      await stages.time("paced-write", sock.sendInPieces(MessageType.Extent, [head, wireBody], piece, takeTokens, done));
    } else {
      await takeTokens(frameBytes);
      inflight.add(plan.extent);
      watch.expect(link.limits.ackMs, "acknowledgement");
      const since = performance.now();
      sock.sendThen(MessageType.Extent, [head, wireBody], done);
      stages.add("tls-write", since);
    }
    if (again) progress.bytesResent += plan.bytes;
    else progress.bytesSent += plan.bytes;
    progress.wireBytes = sock.bytesOut - startWire;
    req.onProgress(progress);
    const since = performance.now();
    await sock.drained();
    stages.add("drain", since);
  };

  for (;;) {
    const failedNow = failures.at(0);
    if (failedNow) throw failedNow;
    if (req.signal.aborted) throw new EngineError("BUSY", "stopped");
    const again = resend.shift();
    if (again !== undefined) {
      const plan = byExtent.get(again);
      if (!plan) throw new WireError(`the peer refused extent ${again}, which this run never sent`);
      sending++;
      try {
        await sendOne(plan, true);
      } finally {
        sending--;
      }
      continue;
    }
    if (next < todo.length && inflight.size < WINDOW) {
      const plan = todo[next++];
      sending++;
      try {
        if (plan) await sendOne(plan, false, todo[next]);
      } finally {
        sending--;
      }
      continue;
    }
    if (next >= todo.length && inflight.size === 0) break;
    await stages.time("window", changes.wait());
  }
  await stages.time("last-acks", reader);
  const failed = failures.at(0);
  if (failed) throw failed;
}

/** Verify: per-extent digests of the snapshot here against the destination's; returns the mismatched extents. */
export async function verifyVolume(req: Omit<SendRequest, "runIdFor" | "limiter" | "onProgress" | "snapshotCreatedAt">): Promise<{ extents: number; mismatched: number[] }> {
  const snapshot = req.hello.snapshot;
  // Hashed before the link opens: the destination would otherwise wait on a silent link for as
  // long as reading the whole snapshot here takes.
  const extents = [...extentsOf(req.replica.diff(null, snapshot))].sort((a, b) => a - b);
  const digests = await extentDigests(req.replica.openSnapshot(snapshot), extents);
  const { link } = await open(req);
  try {
    link.sock.sendJson(MessageType.Verify, { snapshot, digests: Object.fromEntries(digests) });
    const allowed = link.limits.replyMs + (req.hello.sizeBytes / link.limits.verifyBytesPerSec) * 1000;
    return decodeJson(await awaitReply(link, MessageType.VerifyResult, "VERIFY_RESULT", allowed), verifyResultSchema, "VERIFY_RESULT");
  } finally {
    link.close();
  }
}
