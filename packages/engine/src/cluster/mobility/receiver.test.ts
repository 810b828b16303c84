/**
 * The receiver's silence timer, with a real socket and a host that holds no
 * volumes: a sender that says nothing is let go after the silence limit, one
 * whose bytes trickle in slower than a whole frame per limit is not.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConsensusStore } from "../../consensus/store";
import { createLogger } from "../../logger";
import type { MobilityHost } from "./host";
import { ReceiverSession, takeOverVolume, type ReceiverStats, type SessionHandle } from "./receiver";
import { socketPair, trickle, type SocketPair } from "./testing/socket-pair";
import { decodeJson, HEADER_BYTES, MessageType, refuseSchema, WIRE_MAGIC, WIRE_VERSION } from "./wire";

function host(lines: string[]): { host: MobilityHost; close: () => void } {
  // Never reached: a session that gets no HELLO touches no store.
  const store = new ConsensusStore(["http://127.0.0.1:9"]);
  const refuse = (): Promise<never> => Promise.reject(new Error("not in this test"));
  return {
    host: {
      nodeId: "w1",
      store,
      tls: { caPem: "", certPem: "", keyPem: "" },
      kek: undefined,
      logger: createLogger({ level: "warn", write: (line) => lines.push(line) }),
      localReplicaWith: () => undefined,
      snapshotVolume: refuse,
      deleteVolumeSnapshot: refuse,
      attached: () => undefined,
      waitAttached: refuse,
      poolUsedBytes: () => 0,
    },
    close: () => store.close(),
  };
}

const stats = (): ReceiverStats => ({ bytesReceived: 0, extentsRefused: 0, sessions: new Map() });

describe("ReceiverSession waiting for its sender", () => {
  let pair: SocketPair | undefined;
  let closeHost: (() => void) | undefined;
  afterEach(async () => {
    await pair?.close();
    closeHost?.();
    pair = undefined;
    closeHost = undefined;
  });

  it("ends the session once the sender has sent nothing for the silence limit, closing the link", async () => {
    pair = await socketPair();
    const lines: string[] = [];
    const h = host(lines);
    closeHost = h.close;
    const started = performance.now();
    await new ReceiverSession(h.host, "east", pair.server, stats(), { senderSilenceMs: 200 }).run();
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
    // Closed without a REFUSE: nobody is listening on a stalled link.
    expect(await pair.client.next()).toBeNull();
    expect(lines.join("\n")).toMatch(/"msg":"mobility session ended with an error".*"err":"mobility link from east stalled: nothing received for [\d.]+ s; the session ends/);
  });

  it("keeps a session whose sender's bytes keep arriving, however slowly", async () => {
    pair = await socketPair();
    const h = host([]);
    closeHost = h.close;
    // A header-only frame of a type no sender sends, one byte every 40 ms: 480 ms, over twice the
    // limit. The session must live to read it whole, and refuse it by name.
    const session = new ReceiverSession(h.host, "east", pair.server, stats(), { senderSilenceMs: 200 }).run();
    const started = performance.now();
    const unknown = Buffer.alloc(HEADER_BYTES);
    unknown.writeUInt32BE(WIRE_MAGIC, 0);
    unknown.writeUInt8(WIRE_VERSION, 4);
    unknown.writeUInt8(99, 5);
    void trickle(pair.client.socket, unknown, 40);
    const refused = await pair.client.next();
    expect(performance.now() - started).toBeGreaterThan(2 * 200);
    expect(refused?.type).toBe(MessageType.Refuse);
    expect(refused && decodeJson(refused, refuseSchema, "REFUSE").message).toBe("unexpected message type 99");
    await session;
  });
});

describe("a new session taking over a volume from the previous one", () => {
  /** A session handle whose end is in the test's hands; `supersede` ends it, as a failed link does. */
  function session(): { handle: SessionHandle; end: () => void; superseded: string[]; ended: () => boolean } {
    let end = (): void => undefined;
    let done = false;
    const superseded: string[] = [];
    const finished = new Promise<void>((resolve) => {
      end = () => {
        done = true;
        resolve();
      };
    });
    return { handle: { finished, supersede: (reason) => (superseded.push(reason), end()) }, end, superseded, ended: () => done };
  }

  it("waits for a previous session that ends by itself, without ending it", async () => {
    const sessions = new Map<string, SessionHandle>();
    const old = session();
    const mine = session();
    sessions.set("vol", old.handle);
    const taking = takeOverVolume(sessions, "vol", mine.handle, 10_000, "superseded");
    expect(sessions.get("vol")).toBe(mine.handle);
    old.end();
    expect(await taking).toBe(false);
    expect(old.superseded).toEqual([]);
  });

  it("ends a previous session still open after the wait, and resolves only once it has finished", async () => {
    const sessions = new Map<string, SessionHandle>();
    const old = session();
    sessions.set("vol", old.handle);
    const started = performance.now();
    const superseded = await takeOverVolume(sessions, "vol", session().handle, 100, "mobility session for vol superseded by a newer one from east");
    expect(superseded).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
    expect(old.superseded).toEqual(["mobility session for vol superseded by a newer one from east"]);
    expect(old.ended()).toBe(true);
  });

  it("takes a volume nobody holds at once", async () => {
    const sessions = new Map<string, SessionHandle>();
    const mine = session();
    expect(await takeOverVolume(sessions, "vol", mine.handle, 10_000, "superseded")).toBe(false);
    expect(sessions.get("vol")).toBe(mine.handle);
  });
});
