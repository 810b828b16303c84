/** Chooses the storage behind `stowage-engine serve --pool DIR`. */
import type { NodeBackend } from "./backend";
import { FileBackend } from "./testing/file-backend";

export async function openBackend(dir: string): Promise<NodeBackend> {
  return FileBackend.open(dir);
}
