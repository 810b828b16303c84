// Public API of the storage engine.
export { BlockIoError, type BlockDevice, type BlockIoErrorCode } from "./block-device";
export { ENGINE_ERROR_CODES, EngineError, isEngineErrorCode, type EngineErrorCode } from "./errors";

// Pool and volumes
export { Pool, type PoolOptions, type PoolStats, type PoolHealth, type PoolHealthState, type VolumeInfo } from "./pool/pool";
export {
  Volume,
  unlimitedCapacity,
  type CapacityAccountant,
  type RecoveryReport,
  type SnapshotInfo,
  type VolumeCreateOptions,
  type VolumeOpenOptions,
  type VolumeStats,
  type VolumeSummary,
} from "./volume/volume";
export { BLOCK_SIZE, EXTENT_SIZE, MAX_VOLUME_SIZE } from "./volume/geometry";

// Snapshots
export { SnapshotDevice } from "./volume/snapshot-device";
export { type ByteRange } from "./volume/version-diff";
export { copyDevice } from "./snapshot/clone";

// Integrity
export { scrub, type BadBlock, type ScrubOptions, type ScrubReport } from "./scrub/scrub";

// Encryption and key providers
export { XtsCipher, generateDataKey } from "./crypto/xts";
export type { KeyContext, KmsProvider, WrappedKey } from "./kms/provider";
export { LocalFileKms } from "./kms/local-file";
export { KubernetesSecretKms, type SecretGetter, type SecretRef } from "./kms/kubernetes-secret";
export { VaultTransitKms, type VaultTransitOptions } from "./kms/vault-transit";

// Per-volume I/O counters
export { ioStatsSnapshotSchema, ratesBetween, type IoRates, type IoStatsSnapshot } from "./metrics/io-stats";
export { catchUpSchema, clusterNodeSchema, clusterSnapshotSchema, clusterVolumeSchema, replicaViewSchema, type ClusterNodeDto, type ClusterSnapshotDto, type ClusterVolumeDto, type CreateClusterVolumeRequest } from "./admin/cluster-schemas";

// Frontends, node process and admin API
export { NbdServer, type NbdLogger, type NbdServerOptions, type NbdServerStats } from "./nbd/server";
export { StowageNode, type StowageNodeOptions, type HostPort } from "./node/node";
export type { NodeBackend } from "./node/backend";
export { PoolBackend } from "./node/pool-backend";
export { createLogger, type Logger } from "./logger";
export { createAdminServer, type AdminOperations, type AdminRoute } from "./admin/server";
export { AdminClient, parseAdminEndpoint, type AdminClientOptions } from "./admin/client";
export { ADMIN_ORGANIZATION, ADMIN_TLS_FILES, issueAdminCertificate, type AdminClientTls } from "./admin/tls";
export { readAdminClientTls, writeAdminCertificate } from "./cluster/certs";
export { ClusterAdminClient, type TargetStatusDto } from "./admin/cluster-client";
export { adminApi, routePath, routeMatcher, type AdminApi, type AdminRouteSpec, type RouteInput, type RouteOutput } from "./admin/api";
export { ADMIN_ERRORS } from "./admin/errors";
export {
  ADMIN_API_VERSION,
  createVolumeRequestSchema,
  volumeSchema,
  snapshotSchema,
  statusSchema,
  scrubReportSchema,
  type CreateVolumeRequest,
  type VolumeDto,
  type SnapshotDto,
  type StatusDto,
  type ScrubReport as AdminScrubReport,
} from "./admin/schemas";
export { freePort } from "./util/free-port";
export { parse as parseCommandLine, parseCount, scriptArgs, UsageError } from "./cli/args";
