"use client";

import type { RouterOutputs } from "@stowage/api/client";
import { useQuery } from "@tanstack/react-query";
import { TimeSeriesChart } from "~/components/charts/time-series-chart";
import { Alert } from "~/components/ui/alert";
import { toSeries } from "~/lib/series";
import { useTRPC } from "~/trpc/react";
import { LIVE_REFRESH_MS } from "./status";

/** The I/O figures that cluster and volume series share (the API's ioPointSchema). */
type IoPoint = Omit<RouterOutputs["fleet"]["metrics"]["points"][number], "capacityBytes" | "allocatedBytes">;

/** IOPS, throughput and latency of one series of samples (a cluster or a volume). */
export function IoCharts({ points, subject, throughput = true }: { points: readonly IoPoint[]; subject: string; throughput?: boolean }) {
  return (
    <div className={throughput ? "grid grid-cols-1 gap-6 lg:grid-cols-3" : "grid grid-cols-1 gap-6 lg:grid-cols-2"}>
      <TimeSeriesChart
        title={`IOPS of ${subject}`}
        unit="iops"
        series={[
          { key: "read", label: "Read" },
          { key: "write", label: "Write" },
        ]}
        points={toSeries(points, (p) => ({ read: p.readIops, write: p.writeIops }))}
      />
      {throughput ? (
        <TimeSeriesChart
          title={`Throughput of ${subject}`}
          unit="bytesPerSec"
          series={[
            { key: "read", label: "Read" },
            { key: "write", label: "Write" },
          ]}
          points={toSeries(points, (p) => ({ read: p.readBytesPerSec, write: p.writeBytesPerSec }))}
        />
      ) : null}
      <TimeSeriesChart
        title={`Latency of ${subject}`}
        unit="latencyUs"
        series={[
          { key: "p50", label: "p50" },
          { key: "p99", label: "p99" },
        ]}
        points={toSeries(points, (p) => ({ p50: p.latencyP50Us, p99: p.latencyP99Us }))}
      />
    </div>
  );
}

/** Last hour of one cluster's I/O, refreshed live. The window is the server's default so the query key stays put between refreshes. */
export function ClusterCharts({ clusterId, name }: { clusterId: string; name: string }) {
  const trpc = useTRPC();
  const metrics = useQuery({ ...trpc.fleet.metrics.queryOptions({ clusterId }), refetchInterval: LIVE_REFRESH_MS });
  if (metrics.error) return <Alert variant="destructive">{metrics.error.message}</Alert>;
  if (!metrics.data) return <p className="text-sm text-muted-foreground" aria-busy="true">Loading metrics…</p>;
  return <IoCharts subject={name} points={metrics.data.points} />;
}
