import {
  CLUSTER_CREDENTIAL_PREFIX,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
} from "@stowage/agent-protocol";
import type { ResolvedConfig } from "../config";
import type { PrismaClient } from "../db";
import { callLog, type Logger, type RequestScoped } from "../lib/logger";
import { generateSecret, hashSecret } from "../lib/secrets";
import { auditRepository } from "../repositories/audit";
import { agentSecretRepository, clusterRepository } from "../repositories/cluster";
import { alertRepository } from "../repositories/alert";
import { AgentProtocolError } from "./agent-errors";
import type { AgentIdentity } from "./telemetry";

export { AgentProtocolError };

export interface AgentRequestMeta extends RequestScoped {
  ip: string | null;
  userAgent: string | null;
}

/** How long a credential check is trusted without asking the database again. */
const AUTH_CACHE_MS = 15_000;
const AUTH_CACHE_MAX = 50_000;

export class AgentService {
  private readonly authCache = new Map<string, { identity: AgentIdentity; until: number }>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
  ) {}

  /**
   * Trades a one-time join token for a long-lived cluster credential. Earlier
   * credentials of the cluster are revoked: a reinstalled agent replaces the
   * old one rather than running beside it.
   */
  async register(req: RegisterRequest, meta: AgentRequestMeta): Promise<RegisterResponse> {
    const now = this.config.now();
    const token = await agentSecretRepository(this.prisma).findJoinTokenByHash(hashSecret(req.joinToken));
    if (!token) throw new AgentProtocolError("JOIN_TOKEN_INVALID", 401, "The join token is not valid");
    if (token.usedAt) throw new AgentProtocolError("JOIN_TOKEN_USED", 409, "The join token was already used; create a new one in the dashboard");
    if (token.expiresAt.getTime() <= now.getTime()) {
      throw new AgentProtocolError("JOIN_TOKEN_EXPIRED", 410, "The join token expired; create a new one in the dashboard");
    }
    const credential = generateSecret(CLUSTER_CREDENTIAL_PREFIX);
    const { organizationId } = token;
    const cluster = await this.prisma.$transaction(async (tx) => {
      const clusters = clusterRepository(tx);
      if (!(await clusters.consumeJoinToken(organizationId, token.id, now))) {
        throw new AgentProtocolError("JOIN_TOKEN_USED", 409, "The join token was already used; create a new one in the dashboard");
      }
      await clusters.revokeCredentials(organizationId, token.clusterId, now);
      this.forgetCluster(token.clusterId);
      const cred = await clusters.createCredential(organizationId, token.clusterId, hashSecret(credential));
      const registered = await clusters.markRegistered(organizationId, token.clusterId, {
        agentVersion: req.agentVersion,
        kubernetesVersion: req.kubernetesVersion ?? null,
        at: now,
      });
      await auditRepository(tx).insert(
        organizationId,
        { type: "agent", id: registered.id, label: `agent of ${registered.name}`, ip: meta.ip, userAgent: meta.userAgent },
        {
          action: "cluster.register",
          targetType: "cluster",
          targetId: registered.id,
          metadata: { instanceId: req.instanceId, agentVersion: req.agentVersion, credentialId: cred.id },
        },
      );
      return registered;
    });
    callLog(this.log, "agent", meta).info({ organizationId, clusterId: cluster.id, instanceId: req.instanceId }, "cluster registered");
    return {
      clusterId: cluster.id,
      organizationId,
      clusterName: cluster.name,
      credential,
      heartbeatIntervalSeconds: this.config.heartbeatIntervalSeconds,
      serverTime: now.toISOString(),
    };
  }

  /**
   * The cluster a credential speaks for, or null when it is unknown or
   * revoked. Telemetry and command polls authenticate every few seconds per
   * cluster, so answers are cached briefly: a credential revoked by another
   * instance keeps working for at most AUTH_CACHE_MS (this instance forgets
   * a cluster's credentials as soon as it revokes them).
   */
  async authenticate(credential: string): Promise<AgentIdentity | null> {
    if (!credential.startsWith(CLUSTER_CREDENTIAL_PREFIX)) return null;
    const hash = hashSecret(credential);
    const now = Date.now();
    const cached = this.authCache.get(hash);
    if (cached && cached.until > now) return cached.identity;
    const cred = await agentSecretRepository(this.prisma).findCredentialByHash(hash);
    if (!cred || cred.revokedAt) {
      this.authCache.delete(hash);
      return null;
    }
    const identity = { organizationId: cred.organizationId, clusterId: cred.clusterId, credentialId: cred.id };
    if (this.authCache.size >= AUTH_CACHE_MAX) this.authCache.clear();
    this.authCache.set(hash, { identity, until: now + AUTH_CACHE_MS });
    return identity;
  }

  private forgetCluster(clusterId: string): void {
    for (const [hash, entry] of this.authCache) if (entry.identity.clusterId === clusterId) this.authCache.delete(hash);
  }

  /** The server clock is authoritative: lastHeartbeatAt is our time, and the agent learns its skew. */
  async heartbeat(credential: string, req: HeartbeatRequest): Promise<HeartbeatResponse> {
    const now = this.config.now();
    const agent = await this.authenticate(credential);
    if (!agent) throw new AgentProtocolError("UNAUTHORIZED", 401, "Missing, unknown or revoked cluster credential");
    await this.prisma.$transaction(async (tx) => {
      const clusters = clusterRepository(tx);
      await clusters.recordHeartbeat(agent.organizationId, agent.clusterId, { agentVersion: req.agentVersion, at: now });
      await clusters.touchCredential(agent.organizationId, agent.credentialId, now);
      // A heartbeat ends a silence as telemetry does.
      await alertRepository(tx).resolve(agent.organizationId, agent.clusterId, "cluster_silent", "cluster", now);
    });
    return {
      clusterId: agent.clusterId,
      serverTime: now.toISOString(),
      clockSkewMs: Math.round(now.getTime() - new Date(req.sentAt).getTime()),
      heartbeatIntervalSeconds: this.config.heartbeatIntervalSeconds,
    };
  }
}
