import { clusterNameSchema } from "@stowage/vocabulary";
import { z } from "zod";

export const clusterName = clusterNameSchema.meta({ description: "Unique in the organization; a DNS label", example: "prod-east" });

export const clusterId = z.uuid().meta({ description: "Cluster id" });
