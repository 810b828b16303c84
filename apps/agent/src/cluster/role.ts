/**
 * The cluster role: one per engine cluster. Registers with the control plane
 * (once; the identity is kept in the state dir), then runs the uplink with
 * telemetry read from the engine's admin API and commands carried out on it.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Service } from "@stowage/supervisor";
import type { Logger } from "pino";
import type { AgentMetrics } from "../metrics";
import { Backoff } from "../uplink/backoff";
import { UplinkClient, UplinkError } from "../uplink/client";
import { TelemetryBuffer } from "../uplink/telemetry-buffer";
import { Uplink, type CommandExecutor, type CommandProgress, type TelemetrySource } from "../uplink/uplink";
import type { Command, KubernetesInventory } from "@stowage/agent-protocol";
import type { AdminClientTls, ClusterAdminClient } from "@stowage/engine";
import { CredentialStore, type AgentIdentity } from "./credential-store";
import { engineAdmin } from "./engine-admin";
import { EngineCommandExecutor } from "./executor";
import { EngineTelemetrySource } from "./telemetry";

export const AGENT_VERSION = "0.1.0";

export interface ClusterRoleOptions {
  controlPlaneUrl: string;
  /** Needed only on the first start, before an identity is stored. */
  joinToken?: string | undefined;
  stateDir: string;
  engineAdmin: string[];
  /** The cluster CA and an admin client certificate, for `https://` engine admin endpoints. */
  engineAdminTls?: AdminClientTls | undefined;
  telemetryIntervalMs: number;
  heartbeatIntervalMs?: number;
  /** The cluster's Kubernetes side for each telemetry batch, where the agent runs with Kubernetes. */
  kubernetes?: () => Promise<KubernetesInventory | null>;
  bufferMaxBytes: number;
  log: Logger;
  metrics?: AgentMetrics;
}

/** The stored identity, or a new one from registering with the join token. */
export async function ensureIdentity(client: UplinkClient, store: CredentialStore, joinToken: string | undefined, log: Logger): Promise<AgentIdentity> {
  const existing = await store.load();
  if (existing) {
    log.info({ clusterId: existing.clusterId, clusterName: existing.clusterName }, "using the stored agent identity");
    return existing;
  }
  if (!joinToken) throw new Error("this agent has no stored identity yet: set STOWAGE_JOIN_TOKEN (local role: STOWAGE_LOCAL_JOIN_TOKENS) to register it");
  const instanceId = randomUUID();
  const res = await client.register({ joinToken, agentVersion: AGENT_VERSION, instanceId });
  const identity: AgentIdentity = { clusterId: res.clusterId, organizationId: res.organizationId, clusterName: res.clusterName, credential: res.credential, instanceId };
  await store.save(identity);
  log.info({ clusterId: res.clusterId, clusterName: res.clusterName }, "registered with the control plane");
  return identity;
}

/** The engine's telemetry, plus the Kubernetes picture when there is one. */
function withKubernetes(engine: EngineTelemetrySource, kubernetes: (() => Promise<KubernetesInventory | null>) | undefined): TelemetrySource {
  if (!kubernetes) return engine;
  return {
    inventory: () => engine.inventory(),
    samples: () => engine.samples(),
    get liveNodeCount() {
      return engine.liveNodeCount;
    },
    kubernetes,
  };
}

/** Counts commands by type and outcome around another executor. */
class MeteredExecutor implements CommandExecutor {
  constructor(
    private readonly inner: CommandExecutor,
    private readonly metrics: AgentMetrics | undefined,
  ) {}

  async execute(command: Command, progress: CommandProgress): Promise<Record<string, unknown>> {
    try {
      const r = await this.inner.execute(command, progress);
      this.metrics?.commandsRun.inc({ type: command.type, outcome: "succeeded" });
      return r;
    } catch (err) {
      this.metrics?.commandsRun.inc({ type: command.type, outcome: "failed" });
      throw err;
    }
  }
}

export class ClusterRole implements Service {
  readonly name = "cluster-uplink";
  private uplink: Uplink | null = null;
  private gauges: NodeJS.Timeout | null = null;
  identity: AgentIdentity | null = null;
  readonly admin: ClusterAdminClient;

  constructor(private readonly opts: ClusterRoleOptions) {
    this.admin = engineAdmin(opts.engineAdmin, opts.engineAdminTls);
  }

  async start(): Promise<void> {
    const o = this.opts;
    const client = new UplinkClient({ baseUrl: o.controlPlaneUrl });
    const store = new CredentialStore(o.stateDir);
    // Registration is retried while the control plane is unreachable, with the
    // uplink's jittered backoff (a fleet restarting at once must not register in
    // lockstep); a refused token is final.
    const backoff = new Backoff(500, 5_000);
    for (;;) {
      try {
        this.identity = await ensureIdentity(client, store, o.joinToken, o.log);
        break;
      } catch (err) {
        if (!(err instanceof UplinkError) || !err.retryable || backoff.attempts >= 30) throw err;
        const delay = backoff.next();
        o.log.warn({ code: err.code, err: err.message, retryInMs: delay }, "control plane not reachable for registration; retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    client.setCredential(this.identity.credential);
    const buffer = await TelemetryBuffer.open(path.join(o.stateDir, "telemetry"), o.bufferMaxBytes);
    const uplink = new Uplink({
      client,
      buffer,
      source: withKubernetes(new EngineTelemetrySource(this.admin), o.kubernetes),
      executor: new MeteredExecutor(new EngineCommandExecutor(this.admin), o.metrics),
      log: o.log.child({ component: "uplink" }),
      agentVersion: AGENT_VERSION,
      telemetryIntervalMs: o.telemetryIntervalMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? 15_000,
      onClockSkew: (ms) => o.metrics?.clockSkew.set(ms),
    });
    this.uplink = uplink;
    uplink.start();
    const m = o.metrics;
    if (m) {
      let sent = 0;
      let failures = 0;
      this.gauges = setInterval(() => {
        m.batchesSent.inc(uplink.stats.batchesSent - sent);
        sent = uplink.stats.batchesSent;
        m.uplinkFailures.inc({ loop: "any" }, uplink.stats.failures - failures);
        failures = uplink.stats.failures;
        m.batchesDropped.set(buffer.droppedCount);
        m.batchesBuffered.set(buffer.length);
      }, 5_000);
      this.gauges.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.gauges) clearInterval(this.gauges);
    await this.uplink?.stop();
    this.uplink = null;
  }
}
