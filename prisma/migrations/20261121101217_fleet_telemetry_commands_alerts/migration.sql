-- CreateEnum
CREATE TYPE "NodeStatus" AS ENUM ('up', 'down');

-- CreateEnum
CREATE TYPE "PoolHealth" AS ENUM ('healthy', 'degraded', 'failed');

-- CreateEnum
CREATE TYPE "VolumeState" AS ENUM ('healthy', 'degraded', 'faulted', 'creating', 'deleting');

-- CreateEnum
CREATE TYPE "ReplicaState" AS ENUM ('healthy', 'resyncing', 'rebuilding', 'offline', 'faulted');

-- CreateEnum
CREATE TYPE "CommandState" AS ENUM ('queued', 'delivered', 'running', 'succeeded', 'failed', 'expired');

-- CreateEnum
CREATE TYPE "AlertKind" AS ENUM ('cluster_silent', 'node_down', 'replica_degraded', 'pool_full', 'volume_io_errors');

-- CreateEnum
CREATE TYPE "AlertSeverity" AS ENUM ('warning', 'critical');

-- CreateEnum
CREATE TYPE "AlertState" AS ENUM ('open', 'resolved');

-- Stored idempotent responses were kept in clear, and the one of POST /clusters
-- holds a one-time join token. Bodies are now AES-256-GCM sealed (BYTEA); the
-- clear ones are purged rather than converted (SQL has no key). A client retrying
-- a key from before this migration gets its request executed afresh.
DELETE FROM "idempotency_record";

-- AlterTable
ALTER TABLE "idempotency_record" DROP COLUMN "body",
ADD COLUMN     "body" BYTEA NOT NULL;

-- CreateTable
CREATE TABLE "cluster_telemetry" (
    "clusterId" UUID NOT NULL,
    "organizationId" TEXT NOT NULL,
    "lastTelemetryAt" TIMESTAMPTZ(3),
    "lastSequence" INTEGER,
    "inventorySentAt" TIMESTAMPTZ(3),
    "batchesReceived" BIGINT NOT NULL DEFAULT 0,
    "droppedBatches" BIGINT NOT NULL DEFAULT 0,
    "nodeCount" INTEGER NOT NULL DEFAULT 0,
    "nodesUp" INTEGER NOT NULL DEFAULT 0,
    "volumeCount" INTEGER NOT NULL DEFAULT 0,
    "capacityBytes" BIGINT NOT NULL DEFAULT 0,
    "allocatedBytes" BIGINT NOT NULL DEFAULT 0,
    "metricsAt" TIMESTAMPTZ(3),
    "readIops" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "writeIops" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "readBytesPerSec" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "writeBytesPerSec" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "latencyP50Us" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "latencyP99Us" DOUBLE PRECISION NOT NULL DEFAULT 0,

    CONSTRAINT "cluster_telemetry_pkey" PRIMARY KEY ("clusterId")
);

-- CreateTable
CREATE TABLE "node" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "zone" TEXT,
    "rack" TEXT,
    "status" "NodeStatus" NOT NULL,
    "poolCapacityBytes" BIGINT NOT NULL,
    "poolAllocatedBytes" BIGINT NOT NULL,
    "poolProvisionedBytes" BIGINT NOT NULL,
    "poolHealth" "PoolHealth" NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "volume" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "replicaCount" INTEGER NOT NULL,
    "encrypted" BOOLEAN NOT NULL,
    "targetNodeExternalId" TEXT,
    "state" "VolumeState" NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "volume_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "replica" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "externalId" TEXT NOT NULL,
    "volumeExternalId" TEXT NOT NULL,
    "nodeExternalId" TEXT NOT NULL,
    "state" "ReplicaState" NOT NULL,
    "progress" DOUBLE PRECISION,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "replica_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "snapshot" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "externalId" TEXT NOT NULL,
    "volumeExternalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "takenAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "snapshot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
-- Declaratively partitioned by RANGE on "receivedAt"; partitions are made by the maintenance job.
CREATE TABLE "telemetry_batch" (
    "clusterId" UUID NOT NULL,
    "batchId" UUID NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL,
    "sequence" INTEGER NOT NULL,
    "sampleCount" INTEGER NOT NULL,

    CONSTRAINT "telemetry_batch_pkey" PRIMARY KEY ("clusterId","batchId","receivedAt")
) PARTITION BY RANGE ("receivedAt");

-- CreateTable
-- Declaratively partitioned by RANGE on "at"; partitions are made by the maintenance job.
CREATE TABLE "volume_sample" (
    "clusterId" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "readIops" DOUBLE PRECISION NOT NULL,
    "writeIops" DOUBLE PRECISION NOT NULL,
    "readBytesPerSec" DOUBLE PRECISION NOT NULL,
    "writeBytesPerSec" DOUBLE PRECISION NOT NULL,
    "latencyP50Us" DOUBLE PRECISION NOT NULL,
    "latencyP99Us" DOUBLE PRECISION NOT NULL,
    "usedBytes" BIGINT NOT NULL,
    "ioErrors" INTEGER NOT NULL,
    "volumeId" TEXT NOT NULL,

    CONSTRAINT "volume_sample_pkey" PRIMARY KEY ("clusterId","volumeId","at")
) PARTITION BY RANGE ("at");

-- CreateTable
-- Declaratively partitioned by RANGE on "at"; partitions are made by the maintenance job.
CREATE TABLE "pool_sample" (
    "clusterId" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "capacityBytes" BIGINT NOT NULL,
    "allocatedBytes" BIGINT NOT NULL,
    "health" "PoolHealth" NOT NULL,
    "nodeId" TEXT NOT NULL,

    CONSTRAINT "pool_sample_pkey" PRIMARY KEY ("clusterId","nodeId","at")
) PARTITION BY RANGE ("at");

-- CreateTable
-- Declaratively partitioned by RANGE on "bucket"; partitions are made by the maintenance job.
CREATE TABLE "volume_sample_1m" (
    "clusterId" UUID NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "samples" INTEGER NOT NULL,
    "readIops" DOUBLE PRECISION NOT NULL,
    "writeIops" DOUBLE PRECISION NOT NULL,
    "readBytesPerSec" DOUBLE PRECISION NOT NULL,
    "writeBytesPerSec" DOUBLE PRECISION NOT NULL,
    "latencyP50Us" DOUBLE PRECISION NOT NULL,
    "latencyP99Us" DOUBLE PRECISION NOT NULL,
    "usedBytes" BIGINT NOT NULL,
    "ioErrors" INTEGER NOT NULL,
    "volumeId" TEXT NOT NULL,

    CONSTRAINT "volume_sample_1m_pkey" PRIMARY KEY ("clusterId","volumeId","bucket")
) PARTITION BY RANGE ("bucket");

-- CreateTable
-- Declaratively partitioned by RANGE on "bucket"; partitions are made by the maintenance job.
CREATE TABLE "volume_sample_1h" (
    "clusterId" UUID NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "samples" INTEGER NOT NULL,
    "readIops" DOUBLE PRECISION NOT NULL,
    "writeIops" DOUBLE PRECISION NOT NULL,
    "readBytesPerSec" DOUBLE PRECISION NOT NULL,
    "writeBytesPerSec" DOUBLE PRECISION NOT NULL,
    "latencyP50Us" DOUBLE PRECISION NOT NULL,
    "latencyP99Us" DOUBLE PRECISION NOT NULL,
    "usedBytes" BIGINT NOT NULL,
    "ioErrors" INTEGER NOT NULL,
    "volumeId" TEXT NOT NULL,

    CONSTRAINT "volume_sample_1h_pkey" PRIMARY KEY ("clusterId","volumeId","bucket")
) PARTITION BY RANGE ("bucket");

-- CreateTable
-- Declaratively partitioned by RANGE on "bucket"; partitions are made by the maintenance job.
CREATE TABLE "cluster_metric_1m" (
    "clusterId" UUID NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "readIops" DOUBLE PRECISION NOT NULL,
    "writeIops" DOUBLE PRECISION NOT NULL,
    "readBytesPerSec" DOUBLE PRECISION NOT NULL,
    "writeBytesPerSec" DOUBLE PRECISION NOT NULL,
    "latencyP50Us" DOUBLE PRECISION NOT NULL,
    "latencyP99Us" DOUBLE PRECISION NOT NULL,
    "capacityBytes" BIGINT NOT NULL,
    "allocatedBytes" BIGINT NOT NULL,
    "ioErrors" INTEGER NOT NULL,

    CONSTRAINT "cluster_metric_1m_pkey" PRIMARY KEY ("clusterId","bucket")
) PARTITION BY RANGE ("bucket");

-- CreateTable
-- Declaratively partitioned by RANGE on "bucket"; partitions are made by the maintenance job.
CREATE TABLE "cluster_metric_1h" (
    "clusterId" UUID NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "readIops" DOUBLE PRECISION NOT NULL,
    "writeIops" DOUBLE PRECISION NOT NULL,
    "readBytesPerSec" DOUBLE PRECISION NOT NULL,
    "writeBytesPerSec" DOUBLE PRECISION NOT NULL,
    "latencyP50Us" DOUBLE PRECISION NOT NULL,
    "latencyP99Us" DOUBLE PRECISION NOT NULL,
    "capacityBytes" BIGINT NOT NULL,
    "allocatedBytes" BIGINT NOT NULL,
    "ioErrors" INTEGER NOT NULL,

    CONSTRAINT "cluster_metric_1h_pkey" PRIMARY KEY ("clusterId","bucket")
) PARTITION BY RANGE ("bucket");

-- CreateTable
CREATE TABLE "rollup_watermark" (
    "name" TEXT NOT NULL,
    "until" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "rollup_watermark_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "rollup_backfill" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "clusterId" UUID NOT NULL,
    "fromAt" TIMESTAMPTZ(3) NOT NULL,
    "toAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rollup_backfill_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "command" (
    "id" UUID NOT NULL,
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "params" JSONB NOT NULL,
    "volumeId" UUID,
    "state" "CommandState" NOT NULL DEFAULT 'queued',
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "message" TEXT,
    "result" JSONB,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "leaseExpiresAt" TIMESTAMPTZ(3),
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "deliveredAt" TIMESTAMPTZ(3),
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),
    "createdByType" "ActorType" NOT NULL,
    "createdById" TEXT NOT NULL,
    "createdByLabel" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "command_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "kind" "AlertKind" NOT NULL,
    "subject" TEXT NOT NULL,
    "severity" "AlertSeverity" NOT NULL,
    "state" "AlertState" NOT NULL DEFAULT 'open',
    "message" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMPTZ(3),

    CONSTRAINT "alert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "cluster_telemetry_organizationId_idx" ON "cluster_telemetry"("organizationId");

-- CreateIndex
CREATE INDEX "node_organizationId_clusterId_idx" ON "node"("organizationId", "clusterId");

-- CreateIndex
CREATE UNIQUE INDEX "node_clusterId_externalId_key" ON "node"("clusterId", "externalId");

-- CreateIndex
CREATE INDEX "volume_organizationId_createdAt_id_idx" ON "volume"("organizationId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "volume_organizationId_clusterId_createdAt_idx" ON "volume"("organizationId", "clusterId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "volume_clusterId_externalId_key" ON "volume"("clusterId", "externalId");

-- CreateIndex
CREATE INDEX "replica_clusterId_volumeExternalId_idx" ON "replica"("clusterId", "volumeExternalId");

-- CreateIndex
CREATE UNIQUE INDEX "replica_clusterId_externalId_key" ON "replica"("clusterId", "externalId");

-- CreateIndex
CREATE INDEX "snapshot_clusterId_volumeExternalId_idx" ON "snapshot"("clusterId", "volumeExternalId");

-- CreateIndex
CREATE UNIQUE INDEX "snapshot_clusterId_externalId_key" ON "snapshot"("clusterId", "externalId");

-- CreateIndex
CREATE INDEX "rollup_backfill_createdAt_idx" ON "rollup_backfill"("createdAt");

-- CreateIndex
CREATE INDEX "command_clusterId_state_createdAt_idx" ON "command"("clusterId", "state", "createdAt");

-- CreateIndex
CREATE INDEX "command_organizationId_createdAt_id_idx" ON "command"("organizationId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "alert_organizationId_createdAt_id_idx" ON "alert"("organizationId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "alert_clusterId_kind_subject_idx" ON "alert"("clusterId", "kind", "subject");

-- CreateIndex
CREATE INDEX "alert_organizationId_state_idx" ON "alert"("organizationId", "state");

-- AddForeignKey
ALTER TABLE "cluster_telemetry" ADD CONSTRAINT "cluster_telemetry_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "node" ADD CONSTRAINT "node_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "volume" ADD CONSTRAINT "volume_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "replica" ADD CONSTRAINT "replica_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "snapshot" ADD CONSTRAINT "snapshot_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "command" ADD CONSTRAINT "command_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert" ADD CONSTRAINT "alert_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- One open alert per (cluster, kind, subject); resolved ones stay as history.
-- Partial unique indexes are beyond Prisma's schema language (see schema.prisma, model Alert).
CREATE UNIQUE INDEX "alert_one_open" ON "alert"("clusterId", "kind", "subject") WHERE "state" = 'open';
