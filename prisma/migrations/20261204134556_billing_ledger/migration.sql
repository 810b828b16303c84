-- The billing ledger (node-hour bitmaps per month, per-minute capacity and showback weights per
-- hour, node exclusions), rate cards, settings, the gap-free invoice counter, finalized invoices
-- and budgets, generated from schema.prisma; meter_telemetry_batch below writes the ledger from
-- one telemetry batch. Budget alerts use the alert table with two new kinds.
-- CreateEnum
CREATE TYPE "BillingInvoiceStatus" AS ENUM ('draft', 'finalized', 'paid', 'void');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "AlertKind" ADD VALUE 'budget_actual';
ALTER TYPE "AlertKind" ADD VALUE 'budget_forecast';

-- CreateTable
CREATE TABLE "billing_node_hours" (
    "organizationId" TEXT NOT NULL,
    "month" TIMESTAMPTZ(3) NOT NULL,
    "clusterId" UUID NOT NULL,
    "nodeId" TEXT NOT NULL,
    "nodeClass" TEXT NOT NULL DEFAULT '',
    "hours" BIT(744) NOT NULL,

    CONSTRAINT "billing_node_hours_pkey" PRIMARY KEY ("organizationId","month","clusterId","nodeId","nodeClass")
);

-- CreateTable
CREATE TABLE "billing_capacity_hour" (
    "organizationId" TEXT NOT NULL,
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "clusterId" UUID NOT NULL,
    "provisionedBytes" BIGINT[],
    "replicatedBytes" BIGINT[],

    CONSTRAINT "billing_capacity_hour_pkey" PRIMARY KEY ("organizationId","hour","clusterId")
);

-- CreateTable
CREATE TABLE "billing_showback_hour" (
    "organizationId" TEXT NOT NULL,
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "clusterId" UUID NOT NULL,
    "namespace" TEXT NOT NULL,
    "weightBytes" BIGINT[],

    CONSTRAINT "billing_showback_hour_pkey" PRIMARY KEY ("organizationId","hour","clusterId","namespace")
);

-- CreateTable
CREATE TABLE "billing_node_exclusion" (
    "id" UUID NOT NULL,
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "nodeId" TEXT NOT NULL,
    "fromAt" TIMESTAMPTZ(3) NOT NULL,
    "toAt" TIMESTAMPTZ(3),
    "reason" TEXT NOT NULL DEFAULT '',
    "createdByLabel" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "billing_node_exclusion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_settings" (
    "organizationId" TEXT NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "taxRateBasisPoints" INTEGER NOT NULL DEFAULT 0,
    "gracePeriodMinutes" INTEGER NOT NULL DEFAULT 360,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "billing_settings_pkey" PRIMARY KEY ("organizationId")
);

-- CreateTable
CREATE TABLE "billing_rate_card" (
    "id" UUID NOT NULL,
    "organizationId" TEXT NOT NULL,
    "effectiveFrom" TIMESTAMPTZ(3) NOT NULL,
    "effectiveTo" TIMESTAMPTZ(3),
    "currency" TEXT NOT NULL,
    "card" JSONB NOT NULL,
    "createdByLabel" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "billing_rate_card_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_invoice_counter" (
    "organizationId" TEXT NOT NULL,
    "lastNumber" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "billing_invoice_counter_pkey" PRIMARY KEY ("organizationId")
);

-- CreateTable
CREATE TABLE "billing_invoice" (
    "id" UUID NOT NULL,
    "organizationId" TEXT NOT NULL,
    "month" TIMESTAMPTZ(3) NOT NULL,
    "status" "BillingInvoiceStatus" NOT NULL,
    "sequence" INTEGER NOT NULL,
    "number" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "subtotalMinor" BIGINT NOT NULL,
    "taxMinor" BIGINT NOT NULL,
    "totalMinor" BIGINT NOT NULL,
    "content" JSONB NOT NULL,
    "contentHash" TEXT NOT NULL,
    "billedUsage" JSONB NOT NULL,
    "finalizedAt" TIMESTAMPTZ(3) NOT NULL,
    "statusChangedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "billing_invoice_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_budget" (
    "id" UUID NOT NULL,
    "organizationId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "amountMinor" BIGINT NOT NULL,
    "thresholds" INTEGER[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "billing_budget_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_budget_crossing" (
    "budgetId" UUID NOT NULL,
    "month" TIMESTAMPTZ(3) NOT NULL,
    "threshold" INTEGER NOT NULL,
    "basis" TEXT NOT NULL,
    "alertId" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "billing_budget_crossing_pkey" PRIMARY KEY ("budgetId","month","threshold","basis")
);

-- CreateIndex
CREATE INDEX "billing_node_exclusion_organizationId_clusterId_nodeId_idx" ON "billing_node_exclusion"("organizationId", "clusterId", "nodeId");

-- CreateIndex
CREATE UNIQUE INDEX "billing_rate_card_organizationId_effectiveFrom_key" ON "billing_rate_card"("organizationId", "effectiveFrom");

-- CreateIndex
CREATE UNIQUE INDEX "billing_invoice_organizationId_month_key" ON "billing_invoice"("organizationId", "month");

-- CreateIndex
CREATE UNIQUE INDEX "billing_invoice_organizationId_sequence_key" ON "billing_invoice"("organizationId", "sequence");

-- CreateIndex
CREATE INDEX "billing_budget_organizationId_createdAt_idx" ON "billing_budget"("organizationId", "createdAt");

-- Meters one telemetry batch into the ledger. Called by the API in the same statement as
-- ingest_telemetry_batch, only when that stored the batch (a retry meters nothing, and neither
-- would it change anything: every merge is OR or GREATEST, so replayed, reordered or retried
-- batches leave the ledger as it is). Takes the batch's sample columns as ingest does (the same
-- bound parameters, so nothing is sent twice): p_times are the distinct sample times, a volume
-- sample's time index is p_volume_values[(i - 1) * 9 + 1], a pool sample's p_pool_values[(i - 1) * 3 + 1].
-- One statement per ledger table. A write happens only when a merge changes a row: batches every
-- few seconds mostly set bits and minutes already set, and then only read.
CREATE FUNCTION "meter_telemetry_batch"(
  p_org TEXT, p_cluster UUID, p_times TIMESTAMPTZ[], p_node_ids TEXT[], p_pool_values FLOAT8[]
) RETURNS VOID LANGUAGE plpgsql AS $fn$
DECLARE
  n_pool INTEGER := cardinality(p_node_ids);
  n_times INTEGER := cardinality(p_times);
BEGIN
  IF n_times IS NULL OR n_times = 0 THEN
    RETURN;
  END IF;

  -- Node-hours: a node with a pool sample in an hour reported in that hour. The agent reports no
  -- node class yet, so every row has class ''. Month and hour in UTC, whatever the session's zone.
  IF n_pool > 0 THEN
    INSERT INTO billing_node_hours AS t ("organizationId", "month", "clusterId", "nodeId", "nodeClass", "hours")
    SELECT p_org, s.m, p_cluster, s.nd, '', bit_or(set_bit(repeat('0', 744)::bit(744), s.h, 1))
      FROM (SELECT DISTINCT p_node_ids[i] AS nd, date_trunc('month', at, 'UTC') AS m,
                   floor(extract(epoch FROM at - date_trunc('month', at, 'UTC')) / 3600)::int4 AS h
              FROM generate_series(1, n_pool) AS i, LATERAL (SELECT p_times[p_pool_values[(i - 1) * 3 + 1]::int4] AS at) AS x) AS s
     GROUP BY s.m, s.nd
    ON CONFLICT ("organizationId", "month", "clusterId", "nodeId", "nodeClass") DO UPDATE SET "hours" = t."hours" | EXCLUDED."hours"
     WHERE (t."hours" | EXCLUDED."hours") <> t."hours";
  END IF;

  -- Capacity: every minute with a sample of the batch gets the cluster's provisioned bytes and the
  -- extra copies (sizeBytes x (replicaCount - 1)) of the volumes stored for it; other minutes 0.
  -- Volume samples carry no size, so sizes are the stored inventory's (newest applied).
  WITH minutes AS (
    SELECT date_trunc('hour', at, 'UTC') AS h, array_agg(DISTINCT extract(minute FROM at AT TIME ZONE 'UTC')::int4) AS ms
      FROM unnest(p_times) AS at GROUP BY 1
  ), total AS (
    SELECT COALESCE(sum("sizeBytes"), 0)::int8 AS prov, COALESCE(sum("sizeBytes" * ("replicaCount" - 1)), 0)::int8 AS repl
      FROM volume WHERE "clusterId" = p_cluster
  )
  INSERT INTO billing_capacity_hour AS c ("organizationId", "hour", "clusterId", "provisionedBytes", "replicatedBytes")
  SELECT p_org, m.h, p_cluster,
         ARRAY(SELECT CASE WHEN g = ANY(m.ms) THEN total.prov ELSE 0 END FROM generate_series(0, 59) AS g ORDER BY g),
         ARRAY(SELECT CASE WHEN g = ANY(m.ms) THEN total.repl ELSE 0 END FROM generate_series(0, 59) AS g ORDER BY g)
    FROM minutes AS m, total
   WHERE total.prov > 0
  ON CONFLICT ("organizationId", "hour", "clusterId") DO UPDATE SET
    "provisionedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i),
    "replicatedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."replicatedBytes", EXCLUDED."replicatedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i)
   WHERE EXISTS (SELECT 1 FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes", c."replicatedBytes", EXCLUDED."replicatedBytes") AS u(pa, pb, ra, rb)
                  WHERE pb > pa OR rb > ra);

  -- Showback weights: per namespace, the capacity x replicas of its bound claims on Stowage
  -- volumes (the stored Kubernetes inventory), at the same minutes.
  WITH minutes AS (
    SELECT date_trunc('hour', at, 'UTC') AS h, array_agg(DISTINCT extract(minute FROM at AT TIME ZONE 'UTC')::int4) AS ms
      FROM unnest(p_times) AS at GROUP BY 1
  ), weights AS (
    SELECT k."namespace" AS ns, sum(COALESCE(k."capacityBytes", k."requestedBytes") * v."replicaCount")::int8 AS w
      FROM kubernetes_claim k JOIN volume v ON v."clusterId" = k."clusterId" AND v."externalId" = k."volumeExternalId"
     WHERE k."clusterId" = p_cluster AND k."phase" = 'Bound'
     GROUP BY k."namespace"
  )
  INSERT INTO billing_showback_hour AS s ("organizationId", "hour", "clusterId", "namespace", "weightBytes")
  SELECT p_org, m.h, p_cluster, w.ns, ARRAY(SELECT CASE WHEN g = ANY(m.ms) THEN w.w ELSE 0 END FROM generate_series(0, 59) AS g ORDER BY g)
    FROM minutes AS m, weights AS w
   WHERE w.w > 0
  ON CONFLICT ("organizationId", "hour", "clusterId", "namespace") DO UPDATE SET
    "weightBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(s."weightBytes", EXCLUDED."weightBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i)
   WHERE EXISTS (SELECT 1 FROM unnest(s."weightBytes", EXCLUDED."weightBytes") AS u(a, b) WHERE b > a);
END
$fn$;
