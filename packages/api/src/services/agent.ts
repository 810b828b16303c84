import {
  CLUSTER_CREDENTIAL_PREFIX,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
} from "@stowage/agent-protocol";
import type { ResolvedConfig } from "../config";
import type { PrismaClient } from "../db";
import type { Logger } from "../lib/logger";
import { generateSecret, hashSecret } from "../lib/secrets";
import { auditRepository } from "../repositories/audit";
import { agentSecretRepository, clusterRepository } from "../repositories/cluster";
import { alertRepository } from "../repositories/alert";
import { AgentProtocolError } from "./agent-errors";
import type { AgentIdentity } from "./telemetry";

export { AgentProtocolError };

export interface AgentRequestMeta {
  ip: string | null;
  userAgent: string | null;
}

export class AgentService {
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
    const now = new Date();
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
    this.log.info({ organizationId, clusterId: cluster.id, instanceId: req.instanceId }, "cluster registered");
    return {
      clusterId: cluster.id,
      organizationId,
      clusterName: cluster.name,
      credential,
      heartbeatIntervalSeconds: this.config.heartbeatIntervalSeconds,
      serverTime: now.toISOString(),
    };
  }

  /** The cluster a credential speaks for, or null when it is unknown or revoked. */
  async authenticate(credential: string): Promise<AgentIdentity | null> {
    if (!credential.startsWith(CLUSTER_CREDENTIAL_PREFIX)) return null;
    const cred = await agentSecretRepository(this.prisma).findCredentialByHash(hashSecret(credential));
    if (!cred || cred.revokedAt) return null;
    return { organizationId: cred.organizationId, clusterId: cred.clusterId, credentialId: cred.id };
  }

  /** The server clock is authoritative: lastHeartbeatAt is our time, and the agent learns its skew. */
  async heartbeat(credential: string, req: HeartbeatRequest): Promise<HeartbeatResponse> {
    const now = this.config.now();
    const cred = credential.startsWith(CLUSTER_CREDENTIAL_PREFIX)
      ? await agentSecretRepository(this.prisma).findCredentialByHash(hashSecret(credential))
      : null;
    if (!cred || cred.revokedAt) throw new AgentProtocolError("UNAUTHORIZED", 401, "Missing, unknown or revoked cluster credential");
    await this.prisma.$transaction(async (tx) => {
      const clusters = clusterRepository(tx);
      await clusters.recordHeartbeat(cred.organizationId, cred.clusterId, { agentVersion: req.agentVersion, at: now });
      await clusters.touchCredential(cred.organizationId, cred.id, now);
      // A heartbeat ends a silence as telemetry does.
      await alertRepository(tx).resolve(cred.organizationId, cred.clusterId, "cluster_silent", "cluster", now);
    });
    return {
      clusterId: cred.clusterId,
      serverTime: now.toISOString(),
      clockSkewMs: Math.round(now.getTime() - new Date(req.sentAt).getTime()),
      heartbeatIntervalSeconds: this.config.heartbeatIntervalSeconds,
    };
  }
}
