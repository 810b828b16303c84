-- Budget alerts belong to the organization: a budget spans every cluster, so its alert was pinned to
-- whichever cluster cost the most and vanished (ON DELETE CASCADE) with that cluster. An alert with
-- no cluster is organization-level. Only the budget kinds may be: every other kind is about a
-- cluster's node, replica, volume or the cluster itself, and telemetry ingest relies on that.
ALTER TABLE "alert" ALTER COLUMN "clusterId" DROP NOT NULL;

ALTER TABLE "alert" ADD CONSTRAINT "alert_cluster_scope"
  CHECK ("clusterId" IS NOT NULL OR "kind" IN ('budget_actual', 'budget_forecast'));

-- Budget alerts raised so far become organization-level. One budget crossing raised one alert
-- (billing_budget_crossing's key), so no two open rows share (organization, kind, subject).
UPDATE "alert" SET "clusterId" = NULL WHERE "kind" IN ('budget_actual', 'budget_forecast');

-- alert_one_open stays the rule for cluster alerts (ingest's ON CONFLICT names its columns). Its
-- NULLs are distinct, so organization-level alerts get their own index over the organization; a
-- second index rather than NULLS NOT DISTINCT on the first, whose key has no organization in it.
CREATE UNIQUE INDEX "alert_one_open_organization" ON "alert"("organizationId", "kind", "subject")
  WHERE "state" = 'open' AND "clusterId" IS NULL;
