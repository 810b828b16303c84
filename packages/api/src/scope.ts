import type { Actor } from "./actor";
import type { Role } from "./auth/roles";
import { AppError } from "./errors";
import type { RequestScoped } from "./lib/logger";
import type { clusterRepository } from "./repositories/cluster";

/**
 * The tenant a call acts in, the caller's role there, and who the caller is;
 * within a request, also the request's logger, which services log through.
 */
export interface OrgScope extends RequestScoped {
  organizationId: string;
  role: Role;
  actor: Actor;
}

/** The cluster of the caller's organization, or NOT_FOUND (also for another tenant's cluster). */
export async function requireCluster(clusters: ReturnType<typeof clusterRepository>, organizationId: string, id: string) {
  const found = await clusters.findById(organizationId, id);
  if (!found) throw new AppError("NOT_FOUND", "Cluster not found");
  return found;
}
