/**
 * The source side of one run of one volume: connect to the peer (following a
 * REDIRECT to the destination volume's target), agree on the base (the newest
 * snapshot both sides hold), send the snapshot diff one extent per frame in
 * ascending order with at most WINDOW extents unacknowledged, send again what
 * the destination refuses (NACK), and finish with DONE once every extent is
 * acknowledged. A resumed run (same base and snapshot) starts after the
 * destination's durable cursor.
 */
import type { BlockDevice } from "../../block-device";
import { EngineError } from "../../errors";
import type { Logger } from "../../logger";
import type { Volume } from "../../volume/volume";
import { compressForWire, extentDigests, extentsOf, planExtents, readExtent, sha256, type ExtentPlan } from "./extents";
import type { TokenBucket } from "./limiter";
import { COMMIT_EVERY_EXTENTS } from "./receiver";
import { connectPeer, type PairClientTls } from "./link";
import { StageTimes } from "./stages";
import { decodeJson, doneOkSchema, encodeExtentHead, framePool, helloOkSchema, MessageType, readySchema, redirectSchema, refuseSchema, RefusedError, verifyResultSchema, WireError, type FrameSocket, type Hello } from "./wire";

/**
 * Unacknowledged extents in flight: twice the destination's commit batch (receiver.ts), so the
 * link stays busy while the destination flushes one batch and receives the next.
 */
export const WINDOW = 2 * COMMIT_EVERY_EXTENTS;
const MAX_REDIRECTS = 3;

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
  replica: Volume;
  snapshotCreatedAt: string;
  runIdFor: (base: string | null) => string;
  limiter: TokenBucket;
  signal: AbortSignal;
  onProgress: (p: SendProgress) => void;
  /** Fault-injection seam (see FrameTransform); never set from configuration. */
  frameTransform?: FrameTransform;
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

/** Opens the link and says HELLO, following redirects; returns the socket and the agreed base. */
async function open(req: Pick<SendRequest, "endpoints" | "tls" | "hello" | "signal">): Promise<{ sock: FrameSocket; base: string | null }> {
  const errors: string[] = [];
  for (const first of req.endpoints) {
    let endpoint = first;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      let sock: FrameSocket;
      try {
        sock = await connectPeer(endpoint, req.tls, req.signal);
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
        break;
      }
      sock.sendJson(MessageType.Hello, req.hello);
      // With TLS 1.3 the server checks our certificate after our handshake completes: its refusal arrives here.
      const f = await sock.next().catch((err: unknown) => {
        sock.close();
        throw new WireError(`mobility link to ${endpoint}: ${err instanceof Error ? err.message : String(err)}`);
      });
      if (!f) {
        sock.close();
        throw new WireError(`the peer at ${endpoint} closed the link after HELLO`);
      }
      if (f.type === MessageType.Redirect) {
        const r = decodeJson(f, redirectSchema, "REDIRECT");
        sock.close();
        endpoint = r.endpoint;
        continue;
      }
      if (f.type === MessageType.Refuse) {
        sock.close();
        const r = decodeJson(f, refuseSchema, "REFUSE");
        throw new RefusedError(r.code, r.message);
      }
      if (f.type !== MessageType.HelloOk) {
        sock.close();
        throw new WireError(`expected HELLO_OK, got message type ${f.type}`);
      }
      return { sock, base: decodeJson(f, helloOkSchema, "HELLO_OK").base };
    }
  }
  throw new WireError(`no endpoint of the peer accepted the link: ${errors.join("; ")}`);
}

export interface SendResult {
  progress: SendProgress;
}

export async function sendVolume(req: SendRequest): Promise<SendResult> {
  const { sock, base } = await open(req);
  const log = req.logger;
  try {
    const snapshot = req.hello.snapshot;
    const plans = planExtents(req.replica.diff(base, snapshot));
    const bytes = plans.reduce((n, p) => n + p.bytes, 0);
    const runId = req.runIdFor(base);
    sock.sendJson(MessageType.Start, { runId, base, snapshot, bytes, extents: plans.length });
    const ready = decodeJson(await sock.expect(MessageType.Ready, "READY"), readySchema, "READY");
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
    await stream(req, sock, device, plans.filter((p) => p.extent > ready.lastExtent), progress, stages);
    stages.add("stream", streamStarted);
    sock.sendJson(MessageType.Done, { snapshot, createdAt: req.snapshotCreatedAt });
    decodeJson(await sock.expect(MessageType.DoneOk, "DONE_OK"), doneOkSchema, "DONE_OK");
    progress.wireBytes = sock.bytesOut;
    req.onProgress(progress);
    log.info({ run: runId, stagesMs: stages.summary() }, "mobility run stages");
    return { progress };
  } finally {
    sock.close();
  }
}

async function stream(req: SendRequest, sock: FrameSocket, device: BlockDevice, todo: ExtentPlan[], progress: SendProgress, stages: StageTimes): Promise<void> {
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
    await stages.time("limiter", req.limiter.take(head.length + wireBody.length + 12));
    if (failures.length > 0) return;
    inflight.add(plan.extent);
    let since = performance.now();
    sock.sendThen(MessageType.Extent, [head, wireBody], done);
    stages.add("tls-write", since);
    if (again) progress.bytesResent += plan.bytes;
    else progress.bytesSent += plan.bytes;
    progress.wireBytes = sock.bytesOut - startWire;
    req.onProgress(progress);
    since = performance.now();
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
  const { sock } = await open(req);
  try {
    const snapshot = req.hello.snapshot;
    const extents = [...extentsOf(req.replica.diff(null, snapshot))].sort((a, b) => a - b);
    const digests = await extentDigests(req.replica.openSnapshot(snapshot), extents);
    sock.sendJson(MessageType.Verify, { snapshot, digests: Object.fromEntries(digests) });
    return decodeJson(await sock.expect(MessageType.VerifyResult, "VERIFY_RESULT"), verifyResultSchema, "VERIFY_RESULT");
  } finally {
    sock.close();
  }
}
