import type { Auth } from "../auth";
import type { ResolvedConfig } from "../config";
import type { PrismaClient } from "../db";
import type { Logger } from "../lib/logger";
import { AgentService } from "./agent";
import { ApiKeyService } from "./api-key";
import { AuditService } from "./audit";
import { BootstrapService } from "./bootstrap";
import { ClusterService } from "./cluster";
import { OrganizationService } from "./organization";

export interface Services {
  organization: OrganizationService;
  apiKey: ApiKeyService;
  cluster: ClusterService;
  audit: AuditService;
  agent: AgentService;
  bootstrap: BootstrapService;
}

export function createServices(deps: { prisma: PrismaClient; auth: Auth; config: ResolvedConfig; log: Logger }): Services {
  const { prisma, auth, config, log } = deps;
  const organization = new OrganizationService(prisma, config, log.child({ service: "organization" }));
  const apiKey = new ApiKeyService(prisma, log.child({ service: "api-key" }));
  return {
    organization,
    apiKey,
    cluster: new ClusterService(prisma, config, log.child({ service: "cluster" })),
    audit: new AuditService(prisma),
    agent: new AgentService(prisma, config, log.child({ service: "agent" })),
    bootstrap: new BootstrapService(prisma, auth, organization, apiKey, log.child({ service: "bootstrap" })),
  };
}

export type { OrgScope } from "./scope";
export type { BootstrapOptions, BootstrapResult, DemoAdminResult } from "./bootstrap";
