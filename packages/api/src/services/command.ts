import { commandSchema, type Command as AgentCommand, type CommandStatusRequest, type CommandsResponse } from "@stowage/agent-protocol";
import type { Command } from "@stowage/prisma";
import { isTerminalCommandState } from "@stowage/vocabulary";
import type { Actor } from "../actor";
import type { ResolvedConfig } from "../config";
import type { Pool, PrismaClient } from "../db";
import { toCommandDto, type CommandDto } from "../dto/command";
import { AppError } from "../errors";
import { toPage } from "../lib/cursor";
import { toJsonObject } from "../lib/json";
import { callLog, type Logger, type RequestScoped } from "../lib/logger";
import { auditRepository } from "../repositories/audit";
import { clusterRepository } from "../repositories/cluster";
import { commandQueue, commandRepository, type CommandFilters } from "../repositories/command";
import type { CommandNotifier } from "../repositories/command-notifier";
import { AgentProtocolError } from "./agent-errors";
import { requireCluster, type OrgScope } from "../scope";
import type { AgentIdentity } from "./telemetry";

/** Commands handed out per poll; the agent runs them one by one. */
const BATCH = 10;
/**
 * A long poll also looks again this often without being woken: for leases
 * that lapse while it waits and for notifications lost while the listener
 * connection was down.
 */
const RECHECK_MS = 5_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type CommandSpec = Omit<AgentCommand, "id">;

export interface CommandStatusResult {
  id: string;
  state: Command["state"];
  /** False when the report was ignored: the command had already reached a final state. */
  applied: boolean;
}

export class CommandService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly notifier: CommandNotifier,
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
  ) {}

  /**
   * Queues a command for a cluster of the caller's organization and writes
   * the audit row in the same transaction; long-polling agents are woken on commit.
   */
  async enqueue(
    scope: OrgScope,
    input: { clusterId: string; spec: CommandSpec; volumeId: string | null; audit: { action: string; targetType: string; targetId: string; metadata?: Record<string, string | number | boolean | null> } },
  ): Promise<CommandDto> {
    const now = this.config.now();
    const command = await this.prisma.$transaction(async (tx) => {
      const cluster = await requireCluster(clusterRepository(tx), scope.organizationId, input.clusterId);
      const repo = commandRepository(tx);
      const params = toJsonObject(input.spec.params);
      const created = await repo.create(scope.organizationId, {
        clusterId: cluster.id,
        type: input.spec.type,
        params,
        volumeId: input.volumeId,
        expiresAt: new Date(now.getTime() + this.config.commands.ttlSeconds * 1000),
        actor: scope.actor,
        at: now,
      });
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: input.audit.action,
        targetType: input.audit.targetType,
        targetId: input.audit.targetId,
        metadata: { ...input.audit.metadata, commandId: created.id, clusterId: cluster.id },
      });
      await repo.notify(cluster.id);
      return created;
    });
    this.notifier.wake(command.clusterId);
    callLog(this.log, "command", scope).info({ organizationId: scope.organizationId, clusterId: command.clusterId, commandId: command.id, type: command.type }, "command queued");
    return toCommandDto(command);
  }

  async get(scope: OrgScope, id: string): Promise<CommandDto> {
    const c = await commandRepository(this.prisma).findById(scope.organizationId, id);
    if (!c) throw new AppError("NOT_FOUND", "Command not found");
    return toCommandDto(c);
  }

  async list(scope: OrgScope, filters: CommandFilters, page: { cursor?: string | undefined; limit: number }) {
    const rows = await commandRepository(this.prisma).list(scope.organizationId, filters, page);
    const { rows: items, nextCursor } = toPage(rows, page.limit);
    return { items: items.map(toCommandDto), nextCursor };
  }

  // ------------------------------------------------------------ agent side ----

  /**
   * GET /commands?waitSeconds=N: answers at once when work is due, else
   * waits up to N seconds for a command to be enqueued for this cluster.
   */
  async poll(agent: AgentIdentity, waitSeconds: number, signal?: AbortSignal, scoped?: RequestScoped): Promise<CommandsResponse> {
    const wait = Math.max(0, Math.min(waitSeconds, this.config.commands.maxWaitSeconds)) * 1000;
    const deadline = Date.now() + wait;
    for (;;) {
      const ticket = this.notifier.ticket(agent.clusterId);
      try {
        const commands = await this.claim(agent, scoped);
        const left = deadline - Date.now();
        if (commands.length > 0 || left <= 0 || signal?.aborted) {
          return { commands, serverTime: this.config.now().toISOString() };
        }
        await ticket.wait(Math.min(left, RECHECK_MS), signal);
      } finally {
        ticket.close();
      }
    }
  }

  private async claim(agent: AgentIdentity, scoped: RequestScoped | undefined): Promise<AgentCommand[]> {
    const log = callLog(this.log, "command", scoped);
    const now = this.config.now();
    const { leaseSeconds, maxAttempts } = this.config.commands;
    const queue = commandQueue(this.pool);
    await queue.sweep(now, maxAttempts, agent.clusterId);
    const claimed = await queue.claim(agent.clusterId, now, new Date(now.getTime() + leaseSeconds * 1000), BATCH, maxAttempts);
    const out: AgentCommand[] = [];
    for (const c of claimed) {
      const parsed = commandSchema.safeParse({ id: c.id, type: c.type, params: c.params });
      if (parsed.success) out.push(parsed.data);
      else log.error({ commandId: c.id, clusterId: agent.clusterId }, "stored command does not match the agent protocol; not delivered");
    }
    if (out.length > 0) log.info({ clusterId: agent.clusterId, commandIds: out.map((c) => c.id) }, "commands delivered");
    return out;
  }

  /**
   * POST /commands/{id}/status. Idempotent: the same report twice changes
   * nothing more; a final state is final, so a late or repeated 'running'
   * after 'succeeded' is acknowledged and ignored. Another cluster's command
   * is not found.
   */
  async report(agent: AgentIdentity, id: string, req: CommandStatusRequest, scoped?: RequestScoped): Promise<CommandStatusResult> {
    if (!UUID.test(id)) throw new AgentProtocolError("NOT_FOUND", 404, "No such command for this cluster");
    const now = this.config.now();
    const result = await this.prisma.$transaction(async (tx) => {
      const repo = commandRepository(tx);
      const c = await repo.lockForAgent(agent.organizationId, agent.clusterId, id);
      if (!c) throw new AgentProtocolError("NOT_FOUND", 404, "No such command for this cluster");
      if (isTerminalCommandState(c.state)) return { id, state: c.state, applied: false, terminalNow: false, type: c.type };
      const result = req.result === null ? undefined : toJsonObject(req.result);
      switch (req.state) {
        case "running":
          await repo.update(agent.organizationId, id, {
            state: "running",
            progress: Math.max(c.progress, req.progress),
            message: req.message,
            startedAt: c.startedAt ?? now,
            leaseExpiresAt: new Date(now.getTime() + this.config.commands.runningLeaseSeconds * 1000),
            updatedAt: now,
          });
          return { id, state: "running" as const, applied: true, terminalNow: false, type: c.type };
        case "succeeded":
        case "failed":
          await repo.update(agent.organizationId, id, {
            state: req.state,
            progress: req.state === "succeeded" ? 1 : Math.max(c.progress, req.progress),
            message: req.message,
            ...(result === undefined ? {} : { result }),
            error: req.state === "failed" ? (req.message ?? "The agent reported a failure") : null,
            startedAt: c.startedAt ?? now,
            finishedAt: now,
            leaseExpiresAt: null,
            updatedAt: now,
          });
          await auditRepository(tx).insert(agent.organizationId, agentActor(agent), {
            action: `command.${req.state}`,
            targetType: "command",
            targetId: id,
            metadata: { type: c.type, clusterId: agent.clusterId, attempts: c.attempts },
          });
          return { id, state: req.state, applied: true, terminalNow: true, type: c.type };
      }
    });
    if (result.terminalNow) callLog(this.log, "command", scoped).info({ clusterId: agent.clusterId, commandId: id, type: result.type, state: result.state }, "command finished");
    return { id: result.id, state: result.state, applied: result.applied };
  }

  /** Maintenance: expire and fail what can no longer be delivered, across clusters. */
  sweep(): Promise<{ expired: number; failed: number }> {
    return commandQueue(this.pool).sweep(this.config.now(), this.config.commands.maxAttempts, null);
  }
}

function agentActor(agent: AgentIdentity): Actor {
  return { type: "agent", id: agent.clusterId, label: `agent of cluster ${agent.clusterId}`, ip: null, userAgent: null };
}
