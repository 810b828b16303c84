import { z } from "zod";

export const clusterName = z
  .string()
  .trim()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, "use lowercase letters, digits and hyphens; start and end with a letter or digit")
  .meta({ description: "Unique in the organization; a DNS label", example: "prod-east" });

export const clusterId = z.uuid().meta({ description: "Cluster id" });
