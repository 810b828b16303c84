/**
 * What the controller remembers beyond the engine, in a state file of the
 * cluster role's state dir: which nodes each volume is published to
 * (ControllerPublishVolume) and each volume's volume_context (the spec wants
 * the same context every time a volume is reported, and the engine has no
 * field for the file system type).
 *
 * Why not the engine's volume record: publishing is a CO notion the engine
 * has no field for, and the cluster role is the only writer (one leader at a
 * time), so a local file is enough and adds no engine route. A new leader
 * starts from its own file; the external-attacher re-publishes what the
 * VolumeAttachments still want, and contexts fall back to what the engine knows.
 */
import path from "node:path";
import { z } from "zod";
import { ACCESS_MODES } from "./messages";
import { JsonFile } from "./json-file";

const publicationSchema = z.object({
  volumeId: z.string(),
  nodeId: z.string(),
  readonly: z.boolean(),
  mode: z.enum(ACCESS_MODES),
  accessType: z.enum(["block", "mount"]),
});
export type Publication = z.infer<typeof publicationSchema>;

const stateSchema = z.object({
  v: z.literal(1),
  publications: z.array(publicationSchema),
  contexts: z.record(z.string(), z.record(z.string(), z.string())),
});
type State = z.infer<typeof stateSchema>;

export type PublishOutcome = { kind: "published" } | { kind: "already" } | { kind: "conflict"; existing: Publication } | { kind: "elsewhere"; nodeIds: string[] };

export class ControllerState {
  private readonly file: JsonFile<typeof stateSchema>;

  constructor(stateDir: string) {
    this.file = new JsonFile(path.join(stateDir, "csi-controller.json"), stateSchema, (): State => ({ v: 1, publications: [], contexts: {} }));
  }

  async publications(volumeId?: string): Promise<Publication[]> {
    const all = (await this.file.read()).publications;
    return volumeId === undefined ? all : all.filter((p) => p.volumeId === volumeId);
  }

  async context(volumeId: string): Promise<Record<string, string> | undefined> {
    return (await this.file.read()).contexts[volumeId];
  }

  async contexts(): Promise<Record<string, Record<string, string>>> {
    return (await this.file.read()).contexts;
  }

  /** Keeps the first context recorded for a volume: a volume's context never changes. */
  rememberContext(volumeId: string, context: Record<string, string>): Promise<Record<string, string>> {
    return this.file.update((state) => {
      const kept = state.contexts[volumeId];
      if (kept) return { state, result: kept };
      return { state: { ...state, contexts: { ...state.contexts, [volumeId]: context } }, result: context };
    });
  }

  /** Forgets everything about a deleted volume. */
  forget(volumeId: string): Promise<void> {
    return this.file.update((state) => {
      const contexts = { ...state.contexts };
      delete contexts[volumeId];
      return { state: { ...state, contexts, publications: state.publications.filter((p) => p.volumeId !== volumeId) }, result: undefined };
    });
  }

  /**
   * Records `p` unless the volume is published elsewhere (a single-node
   * volume has one node) or on the same node in another way.
   */
  publish(p: Publication): Promise<PublishOutcome> {
    return this.file.update((state): { state: State; result: PublishOutcome } => {
      const mine = state.publications.filter((x) => x.volumeId === p.volumeId);
      const same = mine.find((x) => x.nodeId === p.nodeId);
      if (same) {
        const compatible = same.readonly === p.readonly && same.mode === p.mode && same.accessType === p.accessType;
        return { state, result: compatible ? { kind: "already" } : { kind: "conflict", existing: same } };
      }
      if (mine.length > 0) return { state, result: { kind: "elsewhere", nodeIds: mine.map((x) => x.nodeId) } };
      return { state: { ...state, publications: [...state.publications, p] }, result: { kind: "published" } };
    });
  }

  /** Forgets the volume's publication on `nodeId`, or on every node when it is undefined. */
  unpublish(volumeId: string, nodeId: string | undefined): Promise<void> {
    return this.file.update((state) => ({
      state: { ...state, publications: state.publications.filter((x) => !(x.volumeId === volumeId && (nodeId === undefined || x.nodeId === nodeId))) },
      result: undefined,
    }));
  }
}
