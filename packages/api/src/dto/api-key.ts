import { z } from "zod";
import type { ApiKey } from "@stowage/prisma";
import { isRole } from "../auth/roles";
import { iso, isoDate, isoOrNull, roleSchema } from "./common";

export const apiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    role: roleSchema,
    prefix: z.string().meta({ description: "First characters of the secret, to recognise the key" }),
    createdAt: isoDate,
    lastUsedAt: isoDate.nullable(),
    revokedAt: isoDate.nullable(),
  })
  .meta({ id: "ApiKey" });
export type ApiKeyDto = z.infer<typeof apiKeySchema>;

export const createdApiKeySchema = z
  .object({
    apiKey: apiKeySchema,
    secret: z.string().meta({ description: "Shown once; only its SHA-256 is stored" }),
  })
  .meta({ id: "CreatedApiKey" });
export type CreatedApiKeyDto = z.infer<typeof createdApiKeySchema>;

export function toApiKeyDto(k: ApiKey): ApiKeyDto {
  return {
    id: k.id,
    name: k.name,
    // A role renamed or removed in code must not widen an old key: show the weakest.
    role: isRole(k.role) ? k.role : "viewer",
    prefix: k.prefix,
    createdAt: iso(k.createdAt),
    lastUsedAt: isoOrNull(k.lastUsedAt),
    revokedAt: isoOrNull(k.revokedAt),
  };
}
