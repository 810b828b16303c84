import { ALERT_KINDS, ALERT_STATES, isOneOf } from "@stowage/api/client";
import type { Metadata } from "next";
import { AlertsView, type AlertFilters } from "~/components/fleet/alerts-view";
import { ALERTS_PAGE_SIZE } from "~/components/fleet/status";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Alerts" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export default async function AlertsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const state = one(params.state);
  const cluster = one(params.cluster);
  const kind = one(params.kind);
  const initial: AlertFilters = {
    state: state && isOneOf(ALERT_STATES, state) ? state : undefined,
    clusterId: cluster && UUID.test(cluster) ? cluster : undefined,
    kind: kind && isOneOf(ALERT_KINDS, kind) ? kind : undefined,
  };
  const trpc = await getServerTRPC();
  prefetch(trpc.alert.list.queryOptions({ ...initial, cursor: undefined, limit: ALERTS_PAGE_SIZE }));
  prefetch(trpc.cluster.list.queryOptions({ limit: 100 }));
  return (
    <HydrateClient>
      <AlertsView initial={initial} />
    </HydrateClient>
  );
}
