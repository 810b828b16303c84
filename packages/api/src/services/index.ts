import type { Auth } from "../auth";
import { NodeExclusionService } from "../billing/exclusion-service";
import { KubernetesNodeService } from "../billing/kubernetes-nodes";
import { RateCardService } from "../billing/rate-card-service";
import { BillingService } from "../billing/service";
import type { ResolvedConfig } from "../config";
import type { Pool, PrismaClient } from "../db";
import { CommandNotifier } from "../repositories/command-notifier";
import type { Logger } from "../lib/logger";
import { AgentService } from "./agent";
import { ApiKeyService } from "./api-key";
import { AuditService } from "./audit";
import { BootstrapService } from "./bootstrap";
import { ClusterService } from "./cluster";
import { CommandService } from "./command";
import { FleetService } from "./fleet";
import { KubernetesService } from "./kubernetes";
import { MaintenanceService } from "./maintenance";
import { TelemetryService } from "./telemetry";
import { OrganizationService } from "./organization";

export interface Services {
  organization: OrganizationService;
  apiKey: ApiKeyService;
  cluster: ClusterService;
  audit: AuditService;
  agent: AgentService;
  bootstrap: BootstrapService;
  telemetry: TelemetryService;
  command: CommandService;
  maintenance: MaintenanceService;
  fleet: FleetService;
  kubernetes: KubernetesService;
  /** A cluster's reported Kubernetes nodes, with their billed node-hours for billing readers. */
  kubernetesNodes: KubernetesNodeService;
  billing: BillingService;
  /** Listing and ending node exclusions (billing.excludeNode makes them). */
  billingExclusions: NodeExclusionService;
  /** Ending stored rate cards (billing.createRateCard makes them). */
  billingRateCards: RateCardService;
  /** Releases what services hold beyond the pool (the LISTEN connection, timers). */
  close(): Promise<void>;
}

export function createServices(deps: { prisma: PrismaClient; pool: Pool; auth: Auth; config: ResolvedConfig; log: Logger }): Services {
  const { prisma, pool, auth, config, log } = deps;
  const organization = new OrganizationService(prisma, config, log.child({ service: "organization" }));
  const apiKey = new ApiKeyService(prisma, log.child({ service: "api-key" }));
  const notifier = new CommandNotifier(config.databaseUrl, log.child({ component: "command-notifier" }));
  const command = new CommandService(prisma, pool, notifier, config, log.child({ service: "command" }));
  const billing = new BillingService(prisma, pool, config, log.child({ service: "billing" }));
  const maintenance = new MaintenanceService(prisma, pool, command, config, log.child({ service: "maintenance" }), billing);
  return {
    organization,
    apiKey,
    cluster: new ClusterService(prisma, config, log.child({ service: "cluster" })),
    audit: new AuditService(prisma),
    agent: new AgentService(prisma, config, log.child({ service: "agent" })),
    bootstrap: new BootstrapService(prisma, auth, organization, apiKey, log.child({ service: "bootstrap" })),
    telemetry: new TelemetryService(pool, config, log.child({ service: "telemetry" })),
    command,
    maintenance,
    fleet: new FleetService(prisma, pool, command, config),
    kubernetes: new KubernetesService(prisma),
    kubernetesNodes: new KubernetesNodeService(prisma, pool, config.now),
    billing,
    billingExclusions: new NodeExclusionService(prisma, config),
    billingRateCards: new RateCardService(prisma, config),
    close: async () => {
      await maintenance.stop();
      await notifier.close();
    },
  };
}

export type { OrgScope } from "../scope";
export type { BootstrapOptions, BootstrapResult, DemoAdminResult } from "./bootstrap";
