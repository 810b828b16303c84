-- Capacity minutes computed by the API: the per-minute sums of a batch's sized samples (the rule of
-- billing_capacity_as_sampled, unchanged) are now computed before the call and passed as four
-- parallel arrays (hour, minute, provisioned bytes, replicated bytes). The API remembers what it
-- has metered and seen committed, so an agent's batches after the first of each minute (agents
-- report every ~10 s) need no metering call at all; when a call is made it merges only minutes
-- that raise something, and the function no longer unpacks and groups the volume samples.
--
-- p_cap_from_volumes: the batch's samples carry no sizes (an older agent); its minutes are metered
-- from the volume table as before. p_showback: whether the showback weights of the batch's minutes
-- are merged (the API leaves them out for minutes it metered under the same stored inventory).
-- The old signature is dropped: an overload left behind would be a second way to meter.
DROP FUNCTION "meter_telemetry_batch"(TEXT, UUID, TIMESTAMPTZ[], TEXT[], TEXT[], TIMESTAMPTZ[], INT4[], TEXT[], FLOAT8[], INT8[], INT4[]);

CREATE FUNCTION "meter_telemetry_batch"(
  p_org TEXT, p_cluster UUID, p_times TIMESTAMPTZ[],
  p_node_ids TEXT[], p_node_classes TEXT[], p_node_months TIMESTAMPTZ[], p_node_hours INT4[],
  p_cap_hours TIMESTAMPTZ[], p_cap_minutes INT4[], p_cap_prov INT8[], p_cap_repl INT8[],
  p_cap_from_volumes BOOLEAN, p_showback BOOLEAN
) RETURNS VOID LANGUAGE plpgsql AS $fn$
DECLARE
  n_times INTEGER := cardinality(p_times);
  tot_prov INT8;
  tot_repl INT8;
  ns TEXT[];
  ws INT8[];
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

  -- Capacity as sampled: the minutes given, merged by elementwise MAX. Minutes not given stay as
  -- they are (0 = never billed). The usual batch brings one minute of an hour whose row exists:
  -- that minute's elements are raised in place (the sums by what they grew), which costs a
  -- fraction of rebuilding both 60-element arrays. Anything else (a new hour, several minutes)
  -- takes the general merge. Hours in order, so two batches of one cluster lock them in one order.
  IF cardinality(p_cap_hours) = 1 THEN
    UPDATE billing_capacity_hour AS c SET
      "provisionedBytes"[p_cap_minutes[1] + 1] = GREATEST(c."provisionedBytes"[p_cap_minutes[1] + 1], p_cap_prov[1]),
      "replicatedBytes"[p_cap_minutes[1] + 1] = GREATEST(c."replicatedBytes"[p_cap_minutes[1] + 1], p_cap_repl[1]),
      "provisionedByteMinutes" = c."provisionedByteMinutes" + GREATEST(0, p_cap_prov[1] - c."provisionedBytes"[p_cap_minutes[1] + 1]),
      "replicatedByteMinutes" = c."replicatedByteMinutes" + GREATEST(0, p_cap_repl[1] - c."replicatedBytes"[p_cap_minutes[1] + 1])
     WHERE c."organizationId" = p_org AND c."hour" = p_cap_hours[1] AND c."clusterId" = p_cluster
       AND (c."provisionedBytes"[p_cap_minutes[1] + 1] < p_cap_prov[1] OR c."replicatedBytes"[p_cap_minutes[1] + 1] < p_cap_repl[1]);
    -- Not found: the row is missing, or already holds as much (then the merge below changes nothing).
    IF FOUND OR EXISTS (SELECT 1 FROM billing_capacity_hour c WHERE c."organizationId" = p_org AND c."hour" = p_cap_hours[1] AND c."clusterId" = p_cluster) THEN
      p_cap_hours := '{}';
    END IF;
  END IF;

  IF cardinality(p_cap_hours) > 0 AND EXISTS (
    SELECT 1 FROM unnest(p_cap_hours, p_cap_minutes, p_cap_prov, p_cap_repl) AS x(h, m, prov, repl)
      LEFT JOIN billing_capacity_hour c ON c."organizationId" = p_org AND c."hour" = x.h AND c."clusterId" = p_cluster
     WHERE c."hour" IS NULL OR c."provisionedBytes"[x.m + 1] < x.prov OR c."replicatedBytes"[x.m + 1] < x.repl
  ) THEN
    INSERT INTO billing_capacity_hour AS c ("organizationId", "hour", "clusterId", "provisionedBytes", "replicatedBytes", "provisionedByteMinutes", "replicatedByteMinutes")
    SELECT p_org, hs.h, p_cluster, pm.prov, pm.repl, (SELECT sum(v) FROM unnest(pm.prov) AS v)::int8, (SELECT sum(v) FROM unnest(pm.repl) AS v)::int8
      FROM (SELECT DISTINCT h FROM unnest(p_cap_hours) AS h ORDER BY h) AS hs,
           LATERAL (SELECT ARRAY(SELECT COALESCE(max(x.prov), 0) FROM generate_series(0, 59) AS g LEFT JOIN unnest(p_cap_hours, p_cap_minutes, p_cap_prov) AS x(h, m, prov) ON x.h = hs.h AND x.m = g GROUP BY g ORDER BY g) AS prov,
                           ARRAY(SELECT COALESCE(max(x.repl), 0) FROM generate_series(0, 59) AS g LEFT JOIN unnest(p_cap_hours, p_cap_minutes, p_cap_repl) AS x(h, m, repl) ON x.h = hs.h AND x.m = g GROUP BY g ORDER BY g) AS repl) AS pm
    ON CONFLICT ("organizationId", "hour", "clusterId") DO UPDATE SET
      "provisionedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i),
      "replicatedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."replicatedBytes", EXCLUDED."replicatedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i),
      "provisionedByteMinutes" = (SELECT sum(GREATEST(a, b)) FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes") AS u(a, b))::int8,
      "replicatedByteMinutes" = (SELECT sum(GREATEST(a, b)) FROM unnest(c."replicatedBytes", EXCLUDED."replicatedBytes") AS u(a, b))::int8
     WHERE EXISTS (SELECT 1 FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes", c."replicatedBytes", EXCLUDED."replicatedBytes") AS u(pa, pb, ra, rb)
                    WHERE pb > pa OR rb > ra);
  END IF;

  IF n_times IS NULL OR n_times = 0 THEN
    RETURN;
  END IF;

  IF p_cap_from_volumes THEN
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

  IF NOT p_showback THEN
    RETURN;
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
