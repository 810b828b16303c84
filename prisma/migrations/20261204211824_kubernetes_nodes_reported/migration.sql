-- The Kubernetes nodes of each cluster as its latest Kubernetes section listed them (name, class,
-- Ready, the engine node on it, when last listed), so the dashboard can show them; until now they
-- were only metered into node-hours. Written by the API in the transaction that stores the batch
-- and meters it, with one statement per batch whose Kubernetes section carries a node list and is
-- applied (strictly newer than the last, as ingest_kubernetes_inventory decides): it upserts the
-- listed nodes and deletes the cluster's others, so a late, older section cannot bring back a node
-- a newer one dropped. The primary key (clusterId, name) serves both that statement and the read
-- of one cluster's nodes; no other index.
-- CreateTable
CREATE TABLE "kubernetes_node" (
    "organizationId" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "nodeClass" TEXT NOT NULL,
    "ready" BOOLEAN NOT NULL,
    "storageNodeId" TEXT,
    "lastSeenAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "kubernetes_node_pkey" PRIMARY KEY ("clusterId","name")
);

-- AddForeignKey
ALTER TABLE "kubernetes_node" ADD CONSTRAINT "kubernetes_node_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;
