import { snapshotNameSchema, volumeNameSchema } from "@stowage/vocabulary";
import { z } from "zod";

export const volumeId = z.uuid().meta({ description: "Volume id (ours, not the agent's)" });

/** Names are taken exactly as sent (no trimming), so the agent and the engine get what the API accepted. */
export const volumeName = volumeNameSchema.meta({
  description: "1-63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
  example: "pvc-orders-db",
});

export const snapshotName = snapshotNameSchema.meta({
  description: "Unique per volume; 1-63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
  example: "orders-db-20261204-050607",
});
