/**
 * The engine's cluster admin client as the cluster role uses it: one client
 * over every engine node's admin endpoint, responses validated with the
 * engine's own schemas (the agent and the engine ship together), failures as
 * the engine's EngineError.
 */
import { ClusterAdminClient, readAdminClientTls, type AdminClientTls, type ClusterNodeDto, type ClusterSnapshotDto, type ClusterVolumeDto, type CreateClusterVolumeRequest, type IoStatsSnapshot, type StatusDto } from "@stowage/engine";

export type EngineVolume = ClusterVolumeDto;
export type EngineNode = ClusterNodeDto;
export type EngineSnapshot = ClusterSnapshotDto;
/** The part of a node's status the telemetry reads. */
export type EngineStatus = { pool: Pick<StatusDto["pool"], "capacity" | "used"> };
export type IoSnapshot = IoStatsSnapshot;
export type CreateVolumeInput = CreateClusterVolumeRequest;

/**
 * A client of the engine cluster through `endpoints` (loopback ones learn more from its node
 * list). `https://` endpoints need `tls`: the cluster CA and an admin client certificate
 * (`engineAdminTls`). Reads give up after 5 s; creating a volume may wait for its target to
 * attach, so POSTs get 20 s.
 */
export function engineAdmin(endpoints: string[], tls?: AdminClientTls): ClusterAdminClient {
  return new ClusterAdminClient(endpoints, { timeoutMs: 5_000, postTimeoutMs: 20_000, ...(tls ? { tls } : {}) });
}

/** ca.pem, admin.pem and admin-key.pem from `STOWAGE_ENGINE_ADMIN_TLS_DIR` (a Secret mount); an unreadable file stops the agent naming it. */
export function engineAdminTls(dir: string): Promise<AdminClientTls> {
  return readAdminClientTls(dir);
}
