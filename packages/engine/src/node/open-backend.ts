/** Chooses the storage behind `stowage-engine serve --pool DIR`. */
import type { NodeBackend } from "./backend";
import { PoolBackend } from "./pool-backend";

export async function openBackend(dir: string): Promise<NodeBackend> {
  return PoolBackend.open(dir);
}
