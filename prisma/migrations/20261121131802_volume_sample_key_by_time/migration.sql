-- The raw sample tables are keyed by time before volume (node): the rows of one batch share a
-- cluster and an instant, so they now go into one or two neighbouring index pages instead of one
-- page per volume scattered over the index. That page count, and a full-page image in the WAL for
-- each page first touched after a checkpoint, was most of what a batch cost PostgreSQL; it also
-- kept the whole index hot in memory where now only each cluster's newest pages are. Uniqueness is
-- unchanged (same columns): a re-sent sample is still kept once. Readers of one volume's raw
-- samples scan its cluster's entries of the range and skip other volumes inside the index.
-- Rebuilds the key of every raw partition (two days of samples) under lock.
-- AlterTable
ALTER TABLE "volume_sample" DROP CONSTRAINT "volume_sample_pkey",
ADD CONSTRAINT "volume_sample_pkey" PRIMARY KEY ("clusterId", "at", "volumeId");

-- AlterTable
ALTER TABLE "pool_sample" DROP CONSTRAINT "pool_sample_pkey",
ADD CONSTRAINT "pool_sample_pkey" PRIMARY KEY ("clusterId", "at", "nodeId");
