import { z } from "zod";

export const volumeId = z.uuid().meta({ description: "Volume id (ours, not the agent's)" });

export const volumeName = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "use lowercase letters, digits, '.' and '-'; start and end with a letter or digit")
  .meta({ example: "pvc-orders-db" });
