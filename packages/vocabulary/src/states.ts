/**
 * Every state, kind and role the layers exchange, each as a readonly list
 * (for menus and exhaustive tables), a zod enum (for schemas) and a type.
 * Prisma's enums of the same names are the database's copy; a test in
 * packages/api fails when the two differ.
 */
import { z } from "zod";

export const VOLUME_STATES = ["healthy", "degraded", "faulted", "creating", "deleting"] as const;
export const volumeStateSchema = z.enum(VOLUME_STATES);
export type VolumeState = (typeof VOLUME_STATES)[number];

export const REPLICA_STATES = ["healthy", "resyncing", "rebuilding", "offline", "faulted"] as const;
export const replicaStateSchema = z.enum(REPLICA_STATES);
export type ReplicaState = (typeof REPLICA_STATES)[number];

export const POOL_HEALTHS = ["healthy", "degraded", "failed"] as const;
export const poolHealthSchema = z.enum(POOL_HEALTHS);
export type PoolHealth = (typeof POOL_HEALTHS)[number];

export const NODE_STATUSES = ["up", "down"] as const;
export const nodeStatusSchema = z.enum(NODE_STATUSES);
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** What the agent last said (stored); `disconnected` is also shown when heartbeats go stale. */
export const CLUSTER_STATUSES = ["pending", "connected", "disconnected"] as const;
export const clusterStatusSchema = z.enum(CLUSTER_STATUSES);
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/** The fleet overview's summary of a cluster; derived, never stored. */
export const CLUSTER_HEALTHS = ["healthy", "warning", "critical", "unknown"] as const;
export const clusterHealthSchema = z.enum(CLUSTER_HEALTHS);
export type ClusterHealth = (typeof CLUSTER_HEALTHS)[number];

export const COMMAND_TYPES = ["volume.create", "volume.delete", "snapshot.create"] as const;
export const commandTypeSchema = z.enum(COMMAND_TYPES);
export type CommandType = (typeof COMMAND_TYPES)[number];

/** queued → delivered → running → succeeded | failed; expired when no agent took it in time. */
export const COMMAND_STATES = ["queued", "delivered", "running", "succeeded", "failed", "expired"] as const;
export const commandStateSchema = z.enum(COMMAND_STATES);
export type CommandState = (typeof COMMAND_STATES)[number];

/** Final: a command in one of these states never changes again. */
export const TERMINAL_COMMAND_STATES = ["succeeded", "failed", "expired"] as const satisfies readonly CommandState[];
export type TerminalCommandState = (typeof TERMINAL_COMMAND_STATES)[number];

export function isTerminalCommandState(state: CommandState): state is TerminalCommandState {
  return (TERMINAL_COMMAND_STATES as readonly CommandState[]).includes(state);
}

/** The states an agent may report for a command it holds. */
export const REPORTED_COMMAND_STATES = ["running", "succeeded", "failed"] as const satisfies readonly CommandState[];
export const reportedCommandStateSchema = z.enum(REPORTED_COMMAND_STATES);
export type ReportedCommandState = (typeof REPORTED_COMMAND_STATES)[number];

export const ALERT_KINDS = ["cluster_silent", "node_down", "replica_degraded", "pool_full", "volume_io_errors", "budget_actual", "budget_forecast"] as const;
export const alertKindSchema = z.enum(ALERT_KINDS);
export type AlertKind = (typeof ALERT_KINDS)[number];

export const ALERT_SEVERITIES = ["warning", "critical"] as const;
export const alertSeveritySchema = z.enum(ALERT_SEVERITIES);
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_STATES = ["open", "resolved"] as const;
export const alertStateSchema = z.enum(ALERT_STATES);
export type AlertState = (typeof ALERT_STATES)[number];

export const ACTOR_TYPES = ["user", "api_key", "agent", "system"] as const;
export const actorTypeSchema = z.enum(ACTOR_TYPES);
export type ActorType = (typeof ACTOR_TYPES)[number];

/**
 * Organization roles, weakest first. The cluster roles form a ladder: a role
 * may do everything a weaker one may. `billing` stands beside it: it reads
 * and manages billing and may read clusters like a viewer, nothing more;
 * admins and owners may do what billing may, operators may not. So
 * `roleAtLeast` is a partial order, and `requireRole(r)` admits exactly the
 * roles that are at least `r` in it.
 */
export const ROLES = ["viewer", "billing", "operator", "admin", "owner"] as const;
export const roleSchema = z.enum(ROLES);
export type Role = (typeof ROLES)[number];

/** Roles an API key may carry: every role but owner. */
export const API_KEY_ROLES = ["viewer", "billing", "operator", "admin"] as const satisfies readonly Role[];
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** Every role each role may act as (itself included). */
const ROLE_INCLUDES: Record<Role, readonly Role[]> = {
  viewer: ["viewer"],
  billing: ["viewer", "billing"],
  operator: ["viewer", "operator"],
  admin: ["viewer", "billing", "operator", "admin"],
  owner: ["viewer", "billing", "operator", "admin", "owner"],
};

/** The roles that may read and manage billing. */
export const BILLING_ROLES = ["billing", "admin", "owner"] as const satisfies readonly Role[];

/** A type guard for any of the lists above: `isOneOf(ROLES, value)`. */
export function isOneOf<const T extends readonly string[]>(list: T, value: string): value is T[number] {
  return list.includes(value);
}

export function isRole(value: string): value is Role {
  return isOneOf(ROLES, value);
}

/** Position in ROLES (weakest first), for sorting; comparisons go through roleAtLeast. */
export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

/** Whether `role` may do everything `required` may (billing and operator are incomparable). */
export function roleAtLeast(role: Role, required: Role): boolean {
  return ROLE_INCLUDES[role].includes(required);
}
