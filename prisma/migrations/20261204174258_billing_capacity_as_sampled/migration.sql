-- Capacity metered as observed: volume samples may carry the volume's size and wanted copies at
-- the time of the sample (agent protocol: volumeSamples[].sizeBytes and .replicas, both or
-- neither). A batch delivered late (agents buffer on disk while disconnected) used to be metered
-- with the sizes in the volume table when it arrived; now, when its samples carry sizes, each
-- minute of the batch with sized samples gets the sum over its volumes of the largest size sampled
-- in that minute (provisioned) and of size x (copies - 1) (replicated, the extra copies). A volume
-- without a sample in a minute is not counted in it: a gap in telemetry is never billed. Batches
-- of older agents (no sizes) are metered as before, from the volume table. The merge is the same
-- elementwise MAX per minute, so replay, reorder and retry still change nothing.
--
-- The samples are the ingest call's own parameters (volume ids, and the nine numbers per sample
-- whose first is the 1-based index of its time in p_times), with the sizes and copies as two more
-- arrays parallel to the ids (NULL where a sample has none, empty when no sample has any).
-- The old signature is dropped: an overload left behind would be a second way to meter.
DROP FUNCTION "meter_telemetry_batch"(TEXT, UUID, TIMESTAMPTZ[], TEXT[], TEXT[], TIMESTAMPTZ[], INT4[]);

CREATE FUNCTION "meter_telemetry_batch"(
  p_org TEXT, p_cluster UUID, p_times TIMESTAMPTZ[],
  p_node_ids TEXT[], p_node_classes TEXT[], p_node_months TIMESTAMPTZ[], p_node_hours INT4[],
  p_volume_ids TEXT[], p_volume_values FLOAT8[], p_volume_sizes INT8[], p_volume_replicas INT4[]
) RETURNS VOID LANGUAGE plpgsql AS $fn$
DECLARE
  n_times INTEGER := cardinality(p_times);
  tot_prov INT8;
  tot_repl INT8;
  ns TEXT[];
  ws INT8[];
  pm_hours TIMESTAMPTZ[];
  pm_minutes INT4[];
  pm_prov INT8[];
  pm_repl INT8[];
BEGIN
  -- Node-hours first: a batch of a storage-less cluster may carry no samples at all, only its
  -- Kubernetes nodes. Rows in key order, so two batches of one cluster lock them in one order.
  IF cardinality(p_node_ids) > 0 THEN
    INSERT INTO billing_node_hours AS t ("organizationId", "month", "clusterId", "nodeId", "nodeClass", "hours")
    SELECT p_org, n.m, p_cluster, n.nd, n.cl, bit_or(set_bit(repeat('0', 744)::bit(744), n.h, 1))
      FROM unnest(p_node_ids, p_node_classes, p_node_months, p_node_hours) AS n(nd, cl, m, h)
     GROUP BY n.m, n.nd, n.cl
     ORDER BY n.m, n.nd, n.cl
    ON CONFLICT ("organizationId", "month", "clusterId", "nodeId", "nodeClass") DO UPDATE SET "hours" = t."hours" | EXCLUDED."hours"
     WHERE (t."hours" | EXCLUDED."hours") <> t."hours";
  END IF;

  IF n_times IS NULL OR n_times = 0 THEN
    RETURN;
  END IF;

  IF cardinality(p_volume_sizes) > 0 THEN
    -- Capacity as sampled: per minute, the sum over the volumes sampled in it of each one's
    -- largest size in that minute (a volume sampled twice in a minute counts once), and of its
    -- extra copies. Minutes without a sized sample stay as they are (0 = never billed).
    SELECT array_agg(pm.h ORDER BY pm.h, pm.m), array_agg(pm.m ORDER BY pm.h, pm.m), array_agg(pm.prov ORDER BY pm.h, pm.m), array_agg(pm.repl ORDER BY pm.h, pm.m)
      INTO pm_hours, pm_minutes, pm_prov, pm_repl
      FROM (SELECT v.h, v.m, sum(v.sz)::int8 AS prov, sum(v.ex)::int8 AS repl
              FROM (SELECT date_trunc('hour', s.at, 'UTC') AS h, extract(minute FROM s.at AT TIME ZONE 'UTC')::int4 AS m, s.vid,
                           max(s.sz) AS sz, max(s.sz * (s.rp - 1)) AS ex
                      FROM (SELECT p_times[p_volume_values[(u.i - 1) * 9 + 1]::int4] AS at, u.vid, u.sz, u.rp
                              FROM unnest(p_volume_ids, p_volume_sizes, p_volume_replicas) WITH ORDINALITY AS u(vid, sz, rp, i)
                             WHERE u.sz IS NOT NULL AND u.rp IS NOT NULL) AS s
                     GROUP BY 1, 2, 3) AS v
             GROUP BY v.h, v.m) AS pm;
    IF pm_hours IS NOT NULL AND EXISTS (
      SELECT 1 FROM unnest(pm_hours, pm_minutes, pm_prov, pm_repl) AS x(h, m, prov, repl)
        LEFT JOIN billing_capacity_hour c ON c."organizationId" = p_org AND c."hour" = x.h AND c."clusterId" = p_cluster
       WHERE (x.prov > 0 OR x.repl > 0)
         AND (c."hour" IS NULL OR c."provisionedBytes"[x.m + 1] < x.prov OR c."replicatedBytes"[x.m + 1] < x.repl)
    ) THEN
      INSERT INTO billing_capacity_hour AS c ("organizationId", "hour", "clusterId", "provisionedBytes", "replicatedBytes", "provisionedByteMinutes", "replicatedByteMinutes")
      SELECT p_org, hs.h, p_cluster,
             ARRAY(SELECT COALESCE(x.prov, 0) FROM generate_series(0, 59) AS g LEFT JOIN unnest(pm_hours, pm_minutes, pm_prov) AS x(h, m, prov) ON x.h = hs.h AND x.m = g ORDER BY g),
             ARRAY(SELECT COALESCE(x.repl, 0) FROM generate_series(0, 59) AS g LEFT JOIN unnest(pm_hours, pm_minutes, pm_repl) AS x(h, m, repl) ON x.h = hs.h AND x.m = g ORDER BY g),
             (SELECT sum(x.prov) FROM unnest(pm_hours, pm_prov) AS x(h, prov) WHERE x.h = hs.h)::int8,
             (SELECT sum(x.repl) FROM unnest(pm_hours, pm_repl) AS x(h, repl) WHERE x.h = hs.h)::int8
        FROM (SELECT DISTINCT h FROM unnest(pm_hours) AS h ORDER BY h) AS hs
      ON CONFLICT ("organizationId", "hour", "clusterId") DO UPDATE SET
        "provisionedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i),
        "replicatedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."replicatedBytes", EXCLUDED."replicatedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i),
        "provisionedByteMinutes" = (SELECT sum(GREATEST(a, b)) FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes") AS u(a, b))::int8,
        "replicatedByteMinutes" = (SELECT sum(GREATEST(a, b)) FROM unnest(c."replicatedBytes", EXCLUDED."replicatedBytes") AS u(a, b))::int8
       WHERE EXISTS (SELECT 1 FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes", c."replicatedBytes", EXCLUDED."replicatedBytes") AS u(pa, pb, ra, rb)
                      WHERE pb > pa OR rb > ra);
    END IF;
  ELSE
    -- An older agent's batch (no sizes), as before: every minute with a sample of the batch gets
    -- the cluster's provisioned bytes and the extra copies (sizeBytes x (replicaCount - 1)) of the
    -- volumes stored when it arrives; other minutes 0.
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
