-- The samples reach ingest_telemetry_batch as typed columns instead of JSON: the batch's distinct
-- sample times once, the volume and node ids as text arrays, and every number of a sample kind in
-- one float8 array (a row's fields side by side). Parsing those costs PostgreSQL about a third of
-- what json_to_recordset did (it parsed every object's keys and every sample's timestamp), and
-- building them costs the application no more than serializing JSON. float8 holds every number
-- exactly: usedBytes, capacityBytes, allocatedBytes and ioErrors are safe integers. Otherwise unchanged.
DROP FUNCTION "ingest_telemetry_batch"(
  TEXT, UUID, UUID, TIMESTAMPTZ, INTEGER, INTEGER, TIMESTAMPTZ, TEXT, TEXT, INTEGER,
  JSON, INTEGER, JSON, INTEGER,
  TIMESTAMPTZ, FLOAT8[], FLOAT8, FLOAT8, TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], TIMESTAMPTZ, TIMESTAMPTZ
);

-- One telemetry batch in one call: see 20261121121500_telemetry_ingest_in_one_call.
CREATE FUNCTION "ingest_telemetry_batch"(
  p_org TEXT, p_cluster UUID, p_batch UUID, p_received TIMESTAMPTZ, p_sequence INTEGER, p_dropped INTEGER, p_sent TIMESTAMPTZ,
  -- Inventory as JSON text (parsed only when applied), its hash and volume count; all NULL without inventory.
  p_inv_hash TEXT, p_inventory TEXT, p_inv_volumes INTEGER,
  -- The samples as columns: the batch's distinct sample times; per volume sample its volume id and
  -- nine numbers in one array (time as a 1-based index into p_times, readIops, writeIops,
  -- readBytesPerSec, writeBytesPerSec, latencyP50Us, latencyP99Us, usedBytes, ioErrors); per pool
  -- sample its node id, health and three numbers (time index, capacityBytes, allocatedBytes).
  p_times TIMESTAMPTZ[], p_volume_ids TEXT[], p_volume_values FLOAT8[], p_node_ids TEXT[], p_pool_health TEXT[], p_pool_values FLOAT8[],
  -- Current figures: readIops, writeIops, readBytesPerSec, writeBytesPerSec, latencyP50Us, latencyP99Us.
  p_metrics_at TIMESTAMPTZ, p_figures FLOAT8[],
  p_pool_full FLOAT8, p_pool_resolve FLOAT8,
  -- Conditions found in the batch itself (replica_degraded counts only when its inventory is applied).
  f_kind TEXT[], f_subject TEXT[], f_severity TEXT[], f_message TEXT[],
  -- Volumes the batch has samples of: their volume_io_errors alerts are judged.
  p_io_subjects TEXT[],
  p_span_from TIMESTAMPTZ, p_span_to TIMESTAMPTZ
) RETURNS BOOLEAN LANGUAGE plpgsql AS $fn$
DECLARE
  last_sent TIMESTAMPTZ;
  last_hash TEXT;
  fresh BOOLEAN := false;
  inv JSONB;
  full_kinds TEXT[] := ARRAY['cluster_silent', 'node_down', 'pool_full'];
  -- The hash as stored: with the sentAt (as kept, to the millisecond) of the inventory it describes.
  inv_key TEXT := p_inv_hash || '@' || extract(epoch FROM p_sent::timestamptz(3))::text;
  n_volume INTEGER := cardinality(p_volume_ids);
  n_pool INTEGER := cardinality(p_node_ids);
BEGIN
  -- Serializes the ingest of one cluster: dedupe and inventory replacement need it.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_cluster::text, 5417));

  INSERT INTO telemetry_batch ("clusterId", "batchId", "receivedAt", "sequence", "sampleCount")
  SELECT p_cluster, p_batch, p_received, p_sequence, n_volume + n_pool
   WHERE NOT EXISTS (SELECT 1 FROM telemetry_batch WHERE "clusterId" = p_cluster AND "batchId" = p_batch);
  IF NOT FOUND THEN
    RETURN false;
  END IF;

  IF p_inv_hash IS NOT NULL THEN
    SELECT "inventorySentAt", "inventoryHash" INTO last_sent, last_hash FROM cluster_telemetry WHERE "clusterId" = p_cluster;
    -- An older inventory (agent clock) delivered late does not undo a newer one.
    fresh := last_sent IS NULL OR last_sent <= p_sent;
    -- Skipped only when the hash stored is the one recorded for the inventory applied last
    -- (inventorySentAt): a writer that does not keep the hash cannot make it skip a change.
    IF fresh AND (last_sent IS NULL OR last_hash IS DISTINCT FROM p_inv_hash || '@' || extract(epoch FROM last_sent)::text) THEN
      inv := p_inventory::jsonb;
      -- Upserts what is listed (rows that did not change are not rewritten) and deletes what is not.
      INSERT INTO node ("organizationId", "clusterId", "externalId", "name", "zone", "rack", "status", "poolCapacityBytes", "poolAllocatedBytes", "poolProvisionedBytes", "poolHealth")
      SELECT p_org, p_cluster, x."id", x."name", x."zone", x."rack", x."status"::"NodeStatus",
             (x."pool"->>'capacityBytes')::int8, (x."pool"->>'allocatedBytes')::int8, (x."pool"->>'provisionedBytes')::int8, (x."pool"->>'health')::"PoolHealth"
        FROM jsonb_to_recordset(inv->'nodes') AS x("id" TEXT, "name" TEXT, "zone" TEXT, "rack" TEXT, "status" TEXT, "pool" JSONB)
      ON CONFLICT ("clusterId", "externalId") DO UPDATE SET
        "name" = EXCLUDED."name", "zone" = EXCLUDED."zone", "rack" = EXCLUDED."rack", "status" = EXCLUDED."status",
        "poolCapacityBytes" = EXCLUDED."poolCapacityBytes", "poolAllocatedBytes" = EXCLUDED."poolAllocatedBytes",
        "poolProvisionedBytes" = EXCLUDED."poolProvisionedBytes", "poolHealth" = EXCLUDED."poolHealth", "updatedAt" = now()
      WHERE (node."name", node."zone", node."rack", node."status", node."poolCapacityBytes", node."poolAllocatedBytes", node."poolProvisionedBytes", node."poolHealth")
        IS DISTINCT FROM (EXCLUDED."name", EXCLUDED."zone", EXCLUDED."rack", EXCLUDED."status", EXCLUDED."poolCapacityBytes", EXCLUDED."poolAllocatedBytes", EXCLUDED."poolProvisionedBytes", EXCLUDED."poolHealth");

      INSERT INTO volume ("organizationId", "clusterId", "externalId", "name", "sizeBytes", "replicaCount", "encrypted", "targetNodeExternalId", "state")
      SELECT p_org, p_cluster, x."id", x."name", x."sizeBytes", x."replicaCount", x."encrypted", x."targetNodeId", x."state"::"VolumeState"
        FROM jsonb_to_recordset(inv->'volumes') AS x("id" TEXT, "name" TEXT, "sizeBytes" INT8, "replicaCount" INT4, "encrypted" BOOLEAN, "targetNodeId" TEXT, "state" TEXT)
      ON CONFLICT ("clusterId", "externalId") DO UPDATE SET
        "name" = EXCLUDED."name", "sizeBytes" = EXCLUDED."sizeBytes", "replicaCount" = EXCLUDED."replicaCount", "encrypted" = EXCLUDED."encrypted",
        "targetNodeExternalId" = EXCLUDED."targetNodeExternalId", "state" = EXCLUDED."state", "updatedAt" = now()
      WHERE (volume."name", volume."sizeBytes", volume."replicaCount", volume."encrypted", volume."targetNodeExternalId", volume."state")
        IS DISTINCT FROM (EXCLUDED."name", EXCLUDED."sizeBytes", EXCLUDED."replicaCount", EXCLUDED."encrypted", EXCLUDED."targetNodeExternalId", EXCLUDED."state");

      INSERT INTO replica ("organizationId", "clusterId", "externalId", "volumeExternalId", "nodeExternalId", "state", "progress")
      SELECT p_org, p_cluster, x."id", x."volumeId", x."nodeId", x."state"::"ReplicaState", x."progress"
        FROM jsonb_to_recordset(inv->'replicas') AS x("id" TEXT, "volumeId" TEXT, "nodeId" TEXT, "state" TEXT, "progress" FLOAT8)
      ON CONFLICT ("clusterId", "externalId") DO UPDATE SET
        "volumeExternalId" = EXCLUDED."volumeExternalId", "nodeExternalId" = EXCLUDED."nodeExternalId", "state" = EXCLUDED."state",
        "progress" = EXCLUDED."progress", "updatedAt" = now()
      WHERE (replica."volumeExternalId", replica."nodeExternalId", replica."state", replica."progress")
        IS DISTINCT FROM (EXCLUDED."volumeExternalId", EXCLUDED."nodeExternalId", EXCLUDED."state", EXCLUDED."progress");

      INSERT INTO snapshot ("organizationId", "clusterId", "externalId", "volumeExternalId", "name", "takenAt")
      SELECT p_org, p_cluster, x."id", x."volumeId", x."name", x."createdAt"
        FROM jsonb_to_recordset(inv->'snapshots') AS x("id" TEXT, "volumeId" TEXT, "name" TEXT, "createdAt" TIMESTAMPTZ)
      ON CONFLICT ("clusterId", "externalId") DO UPDATE SET
        "volumeExternalId" = EXCLUDED."volumeExternalId", "name" = EXCLUDED."name", "takenAt" = EXCLUDED."takenAt"
      WHERE (snapshot."volumeExternalId", snapshot."name", snapshot."takenAt") IS DISTINCT FROM (EXCLUDED."volumeExternalId", EXCLUDED."name", EXCLUDED."takenAt");

      -- What the agent no longer lists is gone from the cluster.
      DELETE FROM snapshot WHERE "clusterId" = p_cluster AND "externalId" NOT IN (SELECT e->>'id' FROM jsonb_array_elements(inv->'snapshots') AS e);
      DELETE FROM replica WHERE "clusterId" = p_cluster AND "externalId" NOT IN (SELECT e->>'id' FROM jsonb_array_elements(inv->'replicas') AS e);
      DELETE FROM volume WHERE "clusterId" = p_cluster AND "externalId" NOT IN (SELECT e->>'id' FROM jsonb_array_elements(inv->'volumes') AS e);
      DELETE FROM node WHERE "clusterId" = p_cluster AND "externalId" NOT IN (SELECT e->>'id' FROM jsonb_array_elements(inv->'nodes') AS e);
    END IF;
  END IF;

  -- A sample already stored (same volume or node and instant) is a re-send: kept once. Re-sends
  -- are rare, so the samples go in as plain inserts, and only when one collides are they inserted
  -- again skipping what exists: ON CONFLICT on every row costs nearly half again as much.
  BEGIN
    IF n_volume > 0 THEN
      INSERT INTO volume_sample ("clusterId", "at", "readIops", "writeIops", "readBytesPerSec", "writeBytesPerSec", "latencyP50Us", "latencyP99Us", "usedBytes", "ioErrors", "volumeId")
      SELECT p_cluster, p_times[p_volume_values[o]::int4], p_volume_values[o + 1], p_volume_values[o + 2], p_volume_values[o + 3], p_volume_values[o + 4],
             p_volume_values[o + 5], p_volume_values[o + 6], p_volume_values[o + 7]::int8, p_volume_values[o + 8]::int4, p_volume_ids[i]
        FROM generate_series(1, n_volume) AS i, LATERAL (SELECT (i - 1) * 9 + 1 AS o) AS x;
    END IF;
    IF n_pool > 0 THEN
      INSERT INTO pool_sample ("clusterId", "at", "capacityBytes", "allocatedBytes", "health", "nodeId")
      SELECT p_cluster, p_times[p_pool_values[o]::int4], p_pool_values[o + 1]::int8, p_pool_values[o + 2]::int8, p_pool_health[i]::"PoolHealth", p_node_ids[i]
        FROM generate_series(1, n_pool) AS i, LATERAL (SELECT (i - 1) * 3 + 1 AS o) AS x;
    END IF;
  EXCEPTION WHEN unique_violation THEN
    IF n_volume > 0 THEN
      INSERT INTO volume_sample ("clusterId", "at", "readIops", "writeIops", "readBytesPerSec", "writeBytesPerSec", "latencyP50Us", "latencyP99Us", "usedBytes", "ioErrors", "volumeId")
      SELECT p_cluster, p_times[p_volume_values[o]::int4], p_volume_values[o + 1], p_volume_values[o + 2], p_volume_values[o + 3], p_volume_values[o + 4],
             p_volume_values[o + 5], p_volume_values[o + 6], p_volume_values[o + 7]::int8, p_volume_values[o + 8]::int4, p_volume_ids[i]
        FROM generate_series(1, n_volume) AS i, LATERAL (SELECT (i - 1) * 9 + 1 AS o) AS x
      ON CONFLICT DO NOTHING;
    END IF;
    IF n_pool > 0 THEN
      INSERT INTO pool_sample ("clusterId", "at", "capacityBytes", "allocatedBytes", "health", "nodeId")
      SELECT p_cluster, p_times[p_pool_values[o]::int4], p_pool_values[o + 1]::int8, p_pool_values[o + 2]::int8, p_pool_health[i]::"PoolHealth", p_node_ids[i]
        FROM generate_series(1, n_pool) AS i, LATERAL (SELECT (i - 1) * 3 + 1 AS o) AS x
      ON CONFLICT DO NOTHING;
    END IF;
  END;

  IF n_pool > 0 THEN
    -- The newest pool figures of each node (the later one in the batch on a tie) onto the node rows,
    -- newer than any inventory's; only rows that change are written.
    UPDATE node n SET "poolCapacityBytes" = u.c, "poolAllocatedBytes" = u.al, "poolHealth" = u.h::"PoolHealth", "updatedAt" = now()
      FROM (SELECT DISTINCT ON (p_node_ids[i]) p_node_ids[i] AS nd, p_pool_values[o + 1]::int8 AS c, p_pool_values[o + 2]::int8 AS al, p_pool_health[i] AS h
              FROM generate_series(1, n_pool) AS i, LATERAL (SELECT (i - 1) * 3 + 1 AS o) AS x
             ORDER BY p_node_ids[i], p_times[p_pool_values[o]::int4] DESC, i DESC) AS u
     WHERE n."clusterId" = p_cluster AND n."externalId" = u.nd
       AND (n."poolCapacityBytes", n."poolAllocatedBytes", n."poolHealth"::text) IS DISTINCT FROM (u.c, u.al, u.h);
  END IF;

  -- Current figures move only forward: a late (buffered) batch must not overwrite newer ones.
  INSERT INTO cluster_telemetry AS t ("clusterId", "organizationId", "lastTelemetryAt", "lastSequence", "inventorySentAt", "inventoryHash", "batchesReceived", "droppedBatches",
    "nodeCount", "nodesUp", "volumeCount", "capacityBytes", "allocatedBytes",
    "metricsAt", "readIops", "writeIops", "readBytesPerSec", "writeBytesPerSec", "latencyP50Us", "latencyP99Us")
  SELECT p_cluster, p_org, p_received, p_sequence, CASE WHEN fresh THEN p_sent END, CASE WHEN fresh THEN inv_key END, 1, p_dropped,
         n.cnt, n.up, CASE WHEN fresh THEN p_inv_volumes ELSE 0 END, n.cap, n.alloc,
         p_metrics_at, p_figures[1], p_figures[2], p_figures[3], p_figures[4], p_figures[5], p_figures[6]
    FROM (SELECT count(*) AS cnt, count(*) FILTER (WHERE "status" = 'up') AS up,
                 COALESCE(sum("poolCapacityBytes"), 0) AS cap, COALESCE(sum("poolAllocatedBytes"), 0) AS alloc
            FROM node WHERE "clusterId" = p_cluster) AS n
  ON CONFLICT ("clusterId") DO UPDATE SET
    "lastTelemetryAt" = EXCLUDED."lastTelemetryAt",
    "lastSequence" = EXCLUDED."lastSequence",
    "inventorySentAt" = CASE WHEN fresh THEN EXCLUDED."inventorySentAt" ELSE t."inventorySentAt" END,
    "inventoryHash" = CASE WHEN fresh THEN EXCLUDED."inventoryHash" ELSE t."inventoryHash" END,
    "batchesReceived" = t."batchesReceived" + 1,
    "droppedBatches" = t."droppedBatches" + EXCLUDED."droppedBatches",
    "nodeCount" = EXCLUDED."nodeCount", "nodesUp" = EXCLUDED."nodesUp",
    "volumeCount" = CASE WHEN fresh THEN EXCLUDED."volumeCount" ELSE t."volumeCount" END,
    "capacityBytes" = EXCLUDED."capacityBytes", "allocatedBytes" = EXCLUDED."allocatedBytes",
    "metricsAt" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."metricsAt" ELSE t."metricsAt" END,
    "readIops" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."readIops" ELSE t."readIops" END,
    "writeIops" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."writeIops" ELSE t."writeIops" END,
    "readBytesPerSec" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."readBytesPerSec" ELSE t."readBytesPerSec" END,
    "writeBytesPerSec" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."writeBytesPerSec" ELSE t."writeBytesPerSec" END,
    "latencyP50Us" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."latencyP50Us" ELSE t."latencyP50Us" END,
    "latencyP99Us" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."latencyP99Us" ELSE t."latencyP99Us" END;

  -- Alerts: open (or update) what fails, resolve what recovered among the kinds and subjects
  -- this batch judges; silence is judged by the maintenance job, and any batch ends it.
  -- Between the two pool thresholds an open pool_full stays open and none opens, so a pool
  -- hovering at the limit does not flap. Percentages read as the service writes them:
  -- tenths, rounded half up, without a trailing ".0".
  IF fresh THEN
    full_kinds := full_kinds || 'replica_degraded'::text;
  END IF;
  WITH nodes AS (
    SELECT "externalId" AS subject, "name", "status",
           CASE WHEN "poolCapacityBytes" > 0 THEN "poolAllocatedBytes"::float8 / "poolCapacityBytes"::float8 ELSE 0 END AS used
      FROM node WHERE "clusterId" = p_cluster
  ), failing AS (
    SELECT 'node_down'::text AS kind, subject, 'critical'::text AS severity, 'Node ' || "name" || ' is down' AS message FROM nodes WHERE "status" = 'down'
    UNION ALL
    SELECT 'pool_full', subject, CASE WHEN used > 0.95 THEN 'critical' ELSE 'warning' END,
           'Pool on node ' || "name" || ' is ' || (tenths / 10)::text || CASE WHEN tenths % 10 <> 0 THEN '.' || (tenths % 10)::text ELSE '' END || ' % full'
      FROM (SELECT *, floor(used * 1000 + 0.5)::int8 AS tenths FROM nodes WHERE used > p_pool_full) AS p
    UNION ALL
    SELECT f.kind, f.subject, f.severity, f.message FROM unnest(f_kind, f_subject, f_severity, f_message) AS f(kind, subject, severity, message)
     WHERE f.kind <> 'replica_degraded' OR fresh
  ), hold AS (
    SELECT 'pool_full'::text AS kind, subject FROM nodes WHERE used <= p_pool_full AND used > p_pool_resolve
  ), opened AS (
    INSERT INTO alert ("organizationId", "clusterId", "kind", "subject", "severity", "message", "createdAt", "updatedAt")
    SELECT p_org, p_cluster, kind::"AlertKind", subject, severity::"AlertSeverity", message, p_received, p_received FROM failing
    ON CONFLICT ("clusterId", "kind", "subject") WHERE "state" = 'open' DO UPDATE
      SET "severity" = EXCLUDED."severity", "message" = EXCLUDED."message", "updatedAt" = EXCLUDED."updatedAt"
      WHERE (alert."severity", alert."message") IS DISTINCT FROM (EXCLUDED."severity", EXCLUDED."message")
    RETURNING 1
  )
  UPDATE alert a SET "state" = 'resolved', "resolvedAt" = p_received, "updatedAt" = p_received
   WHERE a."clusterId" = p_cluster AND a."state" = 'open'
     AND (a."kind"::text = ANY(full_kinds) OR (a."kind" = 'volume_io_errors' AND a."subject" = ANY(p_io_subjects)))
     AND NOT EXISTS (SELECT 1 FROM failing f WHERE f.kind = a."kind"::text AND f.subject = a."subject")
     AND NOT EXISTS (SELECT 1 FROM hold h WHERE h.kind = a."kind"::text AND h.subject = a."subject");

  -- Samples older than the 1-minute rollup watermark arrived after their minute was rolled up
  -- (a buffered batch delivered late): remember the range so the rollup job recomputes it.
  IF p_span_from IS NOT NULL THEN
    INSERT INTO rollup_backfill ("clusterId", "fromAt", "toAt")
    SELECT p_cluster, p_span_from, p_span_to WHERE p_span_from < (SELECT "until" FROM rollup_watermark WHERE "name" = '1m');
  END IF;
  RETURN true;
END
$fn$;
