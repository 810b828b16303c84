-- Capacity rows keep the sums of their per-minute arrays (byte-minutes) beside them, set by every
-- merge that changes a row, so month close adds two numbers per cluster-hour instead of summing
-- 120 array values (for a full month of 10,000 clusters that was minutes of PostgreSQL time).
-- meter_telemetry_batch also reads the capacity and showback rows before writing them: most
-- batches (every ~10 s) report minutes already recorded with the same values, and an INSERT … ON
-- CONFLICT DO UPDATE still builds its 60-value arrays and locks the row it then leaves alone. When
-- every minute of the batch is already there with a value at least as large, the merge would
-- change nothing (the merges are GREATEST) and is skipped: the same ledger for about half the cost
-- of metering a batch. Node-hours are metered as before (an OR-merge guarded by a WHERE costs less
-- than looking at the bits first). Still one write per table, only when something changes.
ALTER TABLE "billing_capacity_hour" ADD COLUMN "provisionedByteMinutes" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN "replicatedByteMinutes" BIGINT NOT NULL DEFAULT 0;

UPDATE "billing_capacity_hour" SET
  "provisionedByteMinutes" = COALESCE((SELECT sum(v) FROM unnest("provisionedBytes") AS v), 0)::int8,
  "replicatedByteMinutes" = COALESCE((SELECT sum(v) FROM unnest("replicatedBytes") AS v), 0)::int8;

CREATE OR REPLACE FUNCTION "meter_telemetry_batch"(
  p_org TEXT, p_cluster UUID, p_times TIMESTAMPTZ[], p_node_ids TEXT[], p_pool_values FLOAT8[]
) RETURNS VOID LANGUAGE plpgsql AS $fn$
DECLARE
  n_pool INTEGER := cardinality(p_node_ids);
  n_times INTEGER := cardinality(p_times);
  tot_prov INT8;
  tot_repl INT8;
  ns TEXT[];
  ws INT8[];
BEGIN
  IF n_times IS NULL OR n_times = 0 THEN
    RETURN;
  END IF;

  -- Node-hours: a node with a pool sample in an hour reported in that hour (class '' until the
  -- agent reports one). Month and hour in UTC, whatever the session's zone.
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
  -- extra copies (sizeBytes x (replicaCount - 1)) of its stored volumes; other minutes 0.
  SELECT COALESCE(sum("sizeBytes"), 0)::int8, COALESCE(sum("sizeBytes" * ("replicaCount" - 1)), 0)::int8 INTO tot_prov, tot_repl
    FROM volume WHERE "clusterId" = p_cluster;
  IF tot_prov > 0 AND EXISTS (
    SELECT 1 FROM unnest(p_times) AS at
      LEFT JOIN billing_capacity_hour c ON c."organizationId" = p_org AND c."hour" = date_trunc('hour', at, 'UTC') AND c."clusterId" = p_cluster
     WHERE c."hour" IS NULL
        OR c."provisionedBytes"[extract(minute FROM at AT TIME ZONE 'UTC')::int4 + 1] < tot_prov
        OR c."replicatedBytes"[extract(minute FROM at AT TIME ZONE 'UTC')::int4 + 1] < tot_repl
  ) THEN
    WITH minutes AS (
      SELECT date_trunc('hour', at, 'UTC') AS h, array_agg(DISTINCT extract(minute FROM at AT TIME ZONE 'UTC')::int4) AS ms
        FROM unnest(p_times) AS at GROUP BY 1
    )
    INSERT INTO billing_capacity_hour AS c ("organizationId", "hour", "clusterId", "provisionedBytes", "replicatedBytes", "provisionedByteMinutes", "replicatedByteMinutes")
    SELECT p_org, m.h, p_cluster,
           ARRAY(SELECT CASE WHEN g = ANY(m.ms) THEN tot_prov ELSE 0 END FROM generate_series(0, 59) AS g ORDER BY g),
           ARRAY(SELECT CASE WHEN g = ANY(m.ms) THEN tot_repl ELSE 0 END FROM generate_series(0, 59) AS g ORDER BY g),
           tot_prov * cardinality(m.ms), tot_repl * cardinality(m.ms)
      FROM minutes AS m
    ON CONFLICT ("organizationId", "hour", "clusterId") DO UPDATE SET
      "provisionedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i),
      "replicatedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."replicatedBytes", EXCLUDED."replicatedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i),
      "provisionedByteMinutes" = (SELECT sum(GREATEST(a, b)) FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes") AS u(a, b))::int8,
      "replicatedByteMinutes" = (SELECT sum(GREATEST(a, b)) FROM unnest(c."replicatedBytes", EXCLUDED."replicatedBytes") AS u(a, b))::int8
     WHERE EXISTS (SELECT 1 FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes", c."replicatedBytes", EXCLUDED."replicatedBytes") AS u(pa, pb, ra, rb)
                    WHERE pb > pa OR rb > ra);
  END IF;

  -- Showback weights: per namespace, the capacity x replicas of its bound claims on Stowage
  -- volumes (the stored Kubernetes inventory), at the same minutes.
  SELECT array_agg(w.ns ORDER BY w.ns), array_agg(w.w ORDER BY w.ns) INTO ns, ws
    FROM (SELECT k."namespace" AS ns, sum(COALESCE(k."capacityBytes", k."requestedBytes") * v."replicaCount")::int8 AS w
            FROM kubernetes_claim k JOIN volume v ON v."clusterId" = k."clusterId" AND v."externalId" = k."volumeExternalId"
           WHERE k."clusterId" = p_cluster AND k."phase" = 'Bound'
           GROUP BY k."namespace") AS w
   WHERE w.w > 0;
  IF ns IS NOT NULL AND EXISTS (
    SELECT 1 FROM unnest(p_times) AS at CROSS JOIN unnest(ns, ws) AS x(ns, w)
      LEFT JOIN billing_showback_hour s ON s."organizationId" = p_org AND s."hour" = date_trunc('hour', at, 'UTC') AND s."clusterId" = p_cluster AND s."namespace" = x.ns
     WHERE s."hour" IS NULL OR s."weightBytes"[extract(minute FROM at AT TIME ZONE 'UTC')::int4 + 1] < x.w
  ) THEN
    WITH minutes AS (
      SELECT date_trunc('hour', at, 'UTC') AS h, array_agg(DISTINCT extract(minute FROM at AT TIME ZONE 'UTC')::int4) AS ms
        FROM unnest(p_times) AS at GROUP BY 1
    )
    INSERT INTO billing_showback_hour AS s ("organizationId", "hour", "clusterId", "namespace", "weightBytes")
    SELECT p_org, m.h, p_cluster, x.ns, ARRAY(SELECT CASE WHEN g = ANY(m.ms) THEN x.w ELSE 0 END FROM generate_series(0, 59) AS g ORDER BY g)
      FROM minutes AS m, unnest(ns, ws) AS x(ns, w)
    ON CONFLICT ("organizationId", "hour", "clusterId", "namespace") DO UPDATE SET
      "weightBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(s."weightBytes", EXCLUDED."weightBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i)
     WHERE EXISTS (SELECT 1 FROM unnest(s."weightBytes", EXCLUDED."weightBytes") AS u(a, b) WHERE b > a);
  END IF;
END
$fn$;
