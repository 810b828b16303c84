/**
 * What the node plugin staged, one record per volume in a JSON state file
 * (atomic writes): how the volume is attached, where it is mounted and where
 * it is published. A restarted plugin reads it to unstage what an earlier
 * process staged.
 */
import path from "node:path";
import { z } from "zod";
import { attachmentSchema } from "./attach/attacher";
import { JsonFile } from "./json-file";

export const stagedVolumeSchema = z.object({
  volumeId: z.string(),
  stagingPath: z.string(),
  accessType: z.enum(["block", "mount"]),
  /** The file system asked for; the one on the device wins when it already had one. */
  fsType: z.string(),
  mountFlags: z.array(z.string()),
  address: z.string(),
  exportName: z.string(),
  /** Null only between a record's creation and the attach it records. */
  attachment: attachmentSchema.nullable(),
  /** The file system mounted at the staging path (mount volumes, once mounted). */
  mountedFs: z.string().nullable(),
  publications: z.array(z.object({ targetPath: z.string(), readonly: z.boolean() })),
});
export type StagedVolume = z.infer<typeof stagedVolumeSchema>;

const stateSchema = z.object({ v: z.literal(1), volumes: z.record(z.string(), stagedVolumeSchema) });

export class AttachState {
  private readonly file: JsonFile<typeof stateSchema>;

  constructor(stateDir: string) {
    this.file = new JsonFile(path.join(stateDir, "csi-node-volumes.json"), stateSchema, () => ({ v: 1 as const, volumes: {} }));
  }

  async get(volumeId: string): Promise<StagedVolume | undefined> {
    return (await this.file.read()).volumes[volumeId];
  }

  async all(): Promise<StagedVolume[]> {
    return Object.values((await this.file.read()).volumes);
  }

  put(v: StagedVolume): Promise<void> {
    return this.file.update((s) => ({ state: { ...s, volumes: { ...s.volumes, [v.volumeId]: v } }, result: undefined }));
  }

  remove(volumeId: string): Promise<void> {
    return this.file.update((s) => {
      const volumes = { ...s.volumes };
      delete volumes[volumeId];
      return { state: { ...s, volumes }, result: undefined };
    });
  }
}
