-- The Kubernetes side of each cluster (namespaces, storage classes, claims with their pods and
-- workloads), from the optional `kubernetes` section of telemetry. The tables are generated from
-- schema.prisma; ingest_kubernetes_inventory below applies a section, called by the API after
-- ingest_telemetry_batch in the same transaction and only when that stored a new batch, so a
-- batch without the section costs exactly what it did.
-- AlterTable
ALTER TABLE "cluster_telemetry" ADD COLUMN     "kubernetesObservedAt" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "kubernetes_namespace" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "phase" TEXT NOT NULL,
    "createdInClusterAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kubernetes_namespace_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "kubernetes_storage_class" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "provisioner" TEXT NOT NULL,
    "parameters" JSONB NOT NULL,
    "reclaimPolicy" TEXT NOT NULL,
    "volumeBindingMode" TEXT NOT NULL,
    "allowVolumeExpansion" BOOLEAN NOT NULL,
    "isDefault" BOOLEAN NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kubernetes_storage_class_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "kubernetes_claim" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "uid" TEXT NOT NULL,
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "storageClass" TEXT,
    "phase" TEXT NOT NULL,
    "requestedBytes" BIGINT NOT NULL,
    "capacityBytes" BIGINT,
    "accessModes" TEXT[],
    "volumeMode" TEXT NOT NULL,
    "persistentVolume" TEXT,
    "volumeExternalId" TEXT,
    "pods" JSONB NOT NULL,
    "owners" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kubernetes_claim_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "kubernetes_namespace_organizationId_clusterId_name_idx" ON "kubernetes_namespace"("organizationId", "clusterId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "kubernetes_namespace_clusterId_name_key" ON "kubernetes_namespace"("clusterId", "name");

-- CreateIndex
CREATE INDEX "kubernetes_storage_class_organizationId_clusterId_name_idx" ON "kubernetes_storage_class"("organizationId", "clusterId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "kubernetes_storage_class_clusterId_name_key" ON "kubernetes_storage_class"("clusterId", "name");

-- CreateIndex
CREATE INDEX "kubernetes_claim_organizationId_clusterId_namespace_name_idx" ON "kubernetes_claim"("organizationId", "clusterId", "namespace", "name");

-- CreateIndex
CREATE INDEX "kubernetes_claim_clusterId_volumeExternalId_idx" ON "kubernetes_claim"("clusterId", "volumeExternalId");

-- CreateIndex
CREATE UNIQUE INDEX "kubernetes_claim_clusterId_uid_key" ON "kubernetes_claim"("clusterId", "uid");

-- CreateIndex
CREATE UNIQUE INDEX "kubernetes_claim_clusterId_namespace_name_key" ON "kubernetes_claim"("clusterId", "namespace", "name");

-- AddForeignKey
ALTER TABLE "kubernetes_namespace" ADD CONSTRAINT "kubernetes_namespace_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "kubernetes_storage_class" ADD CONSTRAINT "kubernetes_storage_class_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "kubernetes_claim" ADD CONSTRAINT "kubernetes_claim_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Applies one Kubernetes inventory of a cluster: replaces what is stored when this one is newer
-- (agent clock, observedAt) than the one applied last, and returns whether it did. Runs in the
-- transaction of the batch that carried it, under the same per-cluster lock.
CREATE FUNCTION "ingest_kubernetes_inventory"(
  p_org TEXT, p_cluster UUID, p_observed TIMESTAMPTZ, p_version TEXT, p_inventory TEXT
) RETURNS BOOLEAN LANGUAGE plpgsql AS $fn$
DECLARE
  last_observed TIMESTAMPTZ;
  inv JSONB;
  -- As stored (to the millisecond), so the same picture sent twice compares equal.
  observed TIMESTAMPTZ := p_observed::timestamptz(3);
BEGIN
  -- The lock ingest_telemetry_batch takes (re-entrant within the transaction): two batches of a
  -- cluster never interleave their replacements.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_cluster::text, 5417));

  SELECT "kubernetesObservedAt" INTO last_observed FROM cluster_telemetry WHERE "clusterId" = p_cluster;
  -- Only strictly newer: a picture delivered late (a buffered batch) or again must not undo a newer one.
  IF last_observed IS NOT NULL AND last_observed >= observed THEN
    RETURN false;
  END IF;
  inv := p_inventory::jsonb;

  -- What is gone first: a claim deleted and made again under its name (new uid) would otherwise
  -- collide on (clusterId, namespace, name) before its old row is removed.
  DELETE FROM kubernetes_claim WHERE "clusterId" = p_cluster AND "uid" NOT IN (SELECT e->>'uid' FROM jsonb_array_elements(inv->'claims') AS e);
  DELETE FROM kubernetes_storage_class WHERE "clusterId" = p_cluster AND "name" NOT IN (SELECT e->>'name' FROM jsonb_array_elements(inv->'storageClasses') AS e);
  DELETE FROM kubernetes_namespace WHERE "clusterId" = p_cluster AND "name" NOT IN (SELECT e->>'name' FROM jsonb_array_elements(inv->'namespaces') AS e);

  -- Upserts what is listed; rows that did not change are not rewritten.
  INSERT INTO kubernetes_namespace ("organizationId", "clusterId", "name", "phase", "createdInClusterAt")
  SELECT p_org, p_cluster, x."name", x."phase", x."createdAt"
    FROM jsonb_to_recordset(inv->'namespaces') AS x("name" TEXT, "phase" TEXT, "createdAt" TIMESTAMPTZ)
  ON CONFLICT ("clusterId", "name") DO UPDATE SET
    "phase" = EXCLUDED."phase", "createdInClusterAt" = EXCLUDED."createdInClusterAt", "updatedAt" = now()
  WHERE (kubernetes_namespace."phase", kubernetes_namespace."createdInClusterAt") IS DISTINCT FROM (EXCLUDED."phase", EXCLUDED."createdInClusterAt");

  INSERT INTO kubernetes_storage_class ("organizationId", "clusterId", "name", "provisioner", "parameters", "reclaimPolicy", "volumeBindingMode", "allowVolumeExpansion", "isDefault")
  SELECT p_org, p_cluster, x."name", x."provisioner", x."parameters", x."reclaimPolicy", x."volumeBindingMode", x."allowVolumeExpansion", x."isDefault"
    FROM jsonb_to_recordset(inv->'storageClasses') AS x("name" TEXT, "provisioner" TEXT, "parameters" JSONB, "reclaimPolicy" TEXT, "volumeBindingMode" TEXT, "allowVolumeExpansion" BOOLEAN, "isDefault" BOOLEAN)
  ON CONFLICT ("clusterId", "name") DO UPDATE SET
    "provisioner" = EXCLUDED."provisioner", "parameters" = EXCLUDED."parameters", "reclaimPolicy" = EXCLUDED."reclaimPolicy",
    "volumeBindingMode" = EXCLUDED."volumeBindingMode", "allowVolumeExpansion" = EXCLUDED."allowVolumeExpansion", "isDefault" = EXCLUDED."isDefault", "updatedAt" = now()
  WHERE (kubernetes_storage_class."provisioner", kubernetes_storage_class."parameters", kubernetes_storage_class."reclaimPolicy", kubernetes_storage_class."volumeBindingMode",
         kubernetes_storage_class."allowVolumeExpansion", kubernetes_storage_class."isDefault")
    IS DISTINCT FROM (EXCLUDED."provisioner", EXCLUDED."parameters", EXCLUDED."reclaimPolicy", EXCLUDED."volumeBindingMode", EXCLUDED."allowVolumeExpansion", EXCLUDED."isDefault");

  INSERT INTO kubernetes_claim ("organizationId", "clusterId", "uid", "namespace", "name", "storageClass", "phase", "requestedBytes", "capacityBytes",
                                "accessModes", "volumeMode", "persistentVolume", "volumeExternalId", "pods", "owners")
  SELECT p_org, p_cluster, x."uid", x."namespace", x."name", x."storageClass", x."phase", x."requestedBytes", x."capacityBytes",
         ARRAY(SELECT jsonb_array_elements_text(x."accessModes")), x."volumeMode", x."persistentVolume", x."volumeId", x."pods", x."owners"
    FROM jsonb_to_recordset(inv->'claims') AS x("uid" TEXT, "namespace" TEXT, "name" TEXT, "storageClass" TEXT, "phase" TEXT, "requestedBytes" INT8, "capacityBytes" INT8,
                                                "accessModes" JSONB, "volumeMode" TEXT, "persistentVolume" TEXT, "volumeId" TEXT, "pods" JSONB, "owners" JSONB)
  ON CONFLICT ("clusterId", "uid") DO UPDATE SET
    "namespace" = EXCLUDED."namespace", "name" = EXCLUDED."name", "storageClass" = EXCLUDED."storageClass", "phase" = EXCLUDED."phase",
    "requestedBytes" = EXCLUDED."requestedBytes", "capacityBytes" = EXCLUDED."capacityBytes", "accessModes" = EXCLUDED."accessModes",
    "volumeMode" = EXCLUDED."volumeMode", "persistentVolume" = EXCLUDED."persistentVolume", "volumeExternalId" = EXCLUDED."volumeExternalId",
    "pods" = EXCLUDED."pods", "owners" = EXCLUDED."owners", "updatedAt" = now()
  WHERE (kubernetes_claim."namespace", kubernetes_claim."name", kubernetes_claim."storageClass", kubernetes_claim."phase", kubernetes_claim."requestedBytes",
         kubernetes_claim."capacityBytes", kubernetes_claim."accessModes", kubernetes_claim."volumeMode", kubernetes_claim."persistentVolume",
         kubernetes_claim."volumeExternalId", kubernetes_claim."pods", kubernetes_claim."owners")
    IS DISTINCT FROM (EXCLUDED."namespace", EXCLUDED."name", EXCLUDED."storageClass", EXCLUDED."phase", EXCLUDED."requestedBytes",
         EXCLUDED."capacityBytes", EXCLUDED."accessModes", EXCLUDED."volumeMode", EXCLUDED."persistentVolume",
         EXCLUDED."volumeExternalId", EXCLUDED."pods", EXCLUDED."owners");

  -- Prisma keeps cluster times as UTC without a zone; updatedAt moves only when the version does.
  UPDATE cluster SET "kubernetesVersion" = p_version, "updatedAt" = now() AT TIME ZONE 'UTC'
   WHERE "id" = p_cluster AND "kubernetesVersion" IS DISTINCT FROM p_version;
  -- ingest_telemetry_batch made the row earlier in this transaction.
  UPDATE cluster_telemetry SET "kubernetesObservedAt" = observed WHERE "clusterId" = p_cluster;
  RETURN true;
END
$fn$;
