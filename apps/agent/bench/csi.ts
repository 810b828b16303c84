/**
 * CSI benchmark: claims created → Bound through the whole path (API server →
 * external provisioner → CSI controller → engine cluster), per minute and
 * p50/p95 latency, and pod start (attach + stage + publish of a real ext4 on
 * nbdfuse + loop) p95. The baseline, measured in the same run on the same
 * engine cluster, is the engine's own create of a volume with as many
 * replicas: the ratio says what the Kubernetes path costs on top of it.
 *
 *   npm run bench:csi -- [--quick] [--json] [--claims N] [--pods N] [--concurrency N]
 *
 * Pod starts need root (loop devices, mounts); without it they are skipped and the JSON says so.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { type KubeConfig, Watch, type CoreV1Api, type V1PersistentVolume, type V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { adminApi, parseCount, scriptArgs } from "@stowage/engine";
import { pollUntil } from "@stowage/testing/poll";
import { percentile } from "@stowage/testing/stats";
import { pino } from "pino";
import { engineAdmin } from "../src/cluster/engine-admin";
import { createKubeClients } from "../src/kube/config";
import { LocalKubernetes } from "../src/local/kubernetes";
import { startEngineCluster, type EngineCluster } from "../test/support/engine-cluster";
import { PooledKubeConfig } from "@stowage/kube-client";

const settings = scriptArgs(
  {
    name: "bench:csi",
    usage: "Usage: npm run bench:csi -- [--quick] [--json] [--claims N] [--pods N] [--concurrency N]",
    options: { quick: { type: "boolean" }, json: { type: "boolean" }, claims: { type: "string" }, pods: { type: "string" }, concurrency: { type: "string" } },
  },
  ({ values }) => {
    const quick = values.quick ?? false;
    return {
      quick,
      json: values.json ?? false,
      claims: values.claims === undefined ? (quick ? 40 : 150) : parseCount(values.claims, "--claims"),
      pods: values.pods === undefined ? (quick ? 6 : 20) : parseCount(values.pods, "--pods"),
      concurrency: values.concurrency === undefined ? 10 : parseCount(values.concurrency, "--concurrency"),
    };
  },
);

const REPLICAS = 3;
const SIZE = "16Mi";
const NS = "bench";
const log = pino({ level: "warn" });
const say = (msg: string) => {
  if (!settings.json) process.stderr.write(`${msg}\n`);
};

function figures(latencies: number[], elapsedMs: number) {
  return {
    count: latencies.length,
    perMinute: Math.round((latencies.length / elapsedMs) * 60_000),
    p50Ms: Math.round(percentile(latencies, 50)),
    p95Ms: Math.round(percentile(latencies, 95)),
  };
}

/** Runs `n` jobs, at most `concurrency` at a time; each job's latency in ms. */
async function timed(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const t = performance.now();
        await job(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - t0 };
}

/** Where a claim's time goes, each from the claim's creation: the stages the path passes, in order. */
const STAGES = ["handedToProvisioner", "volumeCreated", "volumeBound", "claimBound"] as const;
type Stage = (typeof STAGES)[number];

/**
 * Resolves each claim's Bound moment from one watch of the namespace's claims, and notes when each
 * stage was seen: the binder hands the claim to the provisioner (its annotation), the provisioner
 * creates the PV (a watch of PVs), the binder binds the PV, then the claim.
 */
function boundWatcher(kc: KubeConfig) {
  const waiting = new Map<string, () => void>();
  const seen = new Map<string, Partial<Record<Stage, number>>>();
  const note = (claim: string, stage: Stage) => {
    const stages = seen.get(claim) ?? {};
    stages[stage] ??= performance.now();
    seen.set(claim, stages);
  };
  const watch = new Watch(kc);
  const claims = watch.watch(
    `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
    {},
    (_type: string, obj: V1PersistentVolumeClaim) => {
      const name = obj.metadata?.name ?? "";
      if (obj.metadata?.annotations?.["volume.kubernetes.io/storage-provisioner"] !== undefined) note(name, "handedToProvisioner");
      if (obj.status?.phase !== "Bound" || seen.get(name)?.claimBound !== undefined) return;
      note(name, "claimBound");
      waiting.get(name)?.();
    },
    () => undefined,
  );
  const volumes = watch.watch(
    "/api/v1/persistentvolumes",
    {},
    (_type: string, obj: V1PersistentVolume) => {
      const ref = obj.spec?.claimRef;
      if (ref?.namespace !== NS || ref.name === undefined) return;
      note(ref.name, "volumeCreated");
      if (obj.status?.phase === "Bound") note(ref.name, "volumeBound");
    },
    () => undefined,
  );
  return {
    started: Promise.all([claims, volumes]),
    until(name: string): Promise<void> {
      if (seen.get(name)?.claimBound !== undefined) return Promise.resolve();
      return new Promise((resolve) => waiting.set(name, resolve));
    },
    /** p50 and p95 of each stage's time from the claim's creation (`createdAt`), ms. */
    stages(createdAt: ReadonlyMap<string, number>) {
      return Object.fromEntries(
        STAGES.map((stage) => {
          const after = [...createdAt].flatMap(([claim, t]) => {
            const at = seen.get(claim)?.[stage];
            return at === undefined ? [] : [at - t];
          });
          return [stage, { p50Ms: Math.round(percentile(after, 50)), p95Ms: Math.round(percentile(after, 95)) }];
        }),
      );
    },
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-bench-csi-"));
  const cluster = await startEngineCluster({ dir, log, ids: ["b1", "b2", "b3"], capacity: "20GiB", extraArgs: ["--log-level", "warn"] });
  try {
    const admin = cluster.admin();
    const kube = new LocalKubernetes({ cluster: "bench", dir: path.join(dir, "kube"), etcd: cluster.etcd.endpoint, nodes: cluster.placement, engine: admin, demoApplication: false, log });
    await cluster.group.start([kube]);
    const kc = new PooledKubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    const { core, storage } = createKubeClients(kc);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    // Immediate binding: the claim is provisioned at once, as the benchmark measures provisioning alone.
    await storage.createStorageClass({
      body: { metadata: { name: "bench-replicated" }, provisioner: "csi.stowage.io", parameters: { replicas: String(REPLICAS), zoneSpread: "true" }, volumeBindingMode: "Immediate", reclaimPolicy: "Delete" },
    });

    say(`baseline: ${settings.claims} engine volume creates with ${REPLICAS} replicas…`);
    const usedBefore = await poolsUsed(cluster);
    const engineRun = await timed(settings.claims, settings.concurrency, async (i) => {
      await admin.createVolume({ name: `baseline-${i}`, size: 16 * 1024 * 1024, replicas: REPLICAS, distinctZones: true });
    });
    const baseline = figures(engineRun.latencies, engineRun.elapsedMs);
    for (let i = 0; i < settings.claims; i++) await admin.deleteVolume(`baseline-${i}`);
    // A delete returns once the record is gone; each node drops its replicas after. Waiting for the
    // pools to be back where they were keeps that cleanup out of the claims' measurement.
    await pollUntil(async () => (await poolsUsed(cluster)).every((used, i) => used <= (usedBefore[i] ?? 0)) || undefined, {
      timeoutMs: 120_000,
      what: "every pool back to its size before the baseline",
    });

    say(`claims: ${settings.claims} PVCs → Bound…`);
    const watcher = boundWatcher(kc);
    await watcher.started;
    // The controllers, kubelets, sidecars and CSI servers share this process's event loop: how late it ran says whether they queue behind each other.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const createdAt = new Map<string, number>();
    const claimRun = await timed(settings.claims, settings.concurrency, async (i) => {
      const name = `claim-${i}`;
      createdAt.set(name, performance.now());
      await core.createNamespacedPersistentVolumeClaim({
        namespace: NS,
        body: { metadata: { name }, spec: { storageClassName: "bench-replicated", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: SIZE } } } },
      });
      await watcher.until(name);
    });
    loopDelay.disable();
    const claims = {
      ...figures(claimRun.latencies, claimRun.elapsedMs),
      stagesFromCreation: watcher.stages(createdAt),
      eventLoopDelay: { p50Ms: Math.round(loopDelay.percentile(50) / 1e5) / 10, p99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10, maxMs: Math.round(loopDelay.max / 1e5) / 10 },
    };

    const root = process.getuid?.() === 0;
    let pods: ReturnType<typeof figures> | { skipped: string };
    if (root) {
      say(`pods: ${settings.pods} pods start with their volume staged and published…`);
      const podRun = await timed(settings.pods, Math.min(settings.concurrency, settings.pods), async (i) => {
        const name = `pod-${i}`;
        await core.createNamespacedPod({
          namespace: NS,
          body: { metadata: { name }, spec: { containers: [{ name: "app", image: "busybox:1.37", volumeMounts: [{ name: "data", mountPath: "/data" }] }], volumes: [{ name: "data", persistentVolumeClaim: { claimName: `claim-${i}` } }] } },
        });
        await waitRunning(core, name);
      });
      pods = figures(podRun.latencies, podRun.elapsedMs);
      await Promise.all(Array.from({ length: settings.pods }, (_, i) => core.deleteNamespacedPod({ namespace: NS, name: `pod-${i}` })));
      await pollUntil(async () => (await core.listNamespacedPod({ namespace: NS })).items.length === 0 || undefined, { timeoutMs: 120_000, what: "pods gone" });
    } else {
      pods = { skipped: "pod starts stage real block devices and need root" };
    }

    const report = {
      benchmark: "csi",
      quick: settings.quick,
      replicas: REPLICAS,
      concurrency: settings.concurrency,
      claims,
      baseline: { engineCreate: baseline },
      ratioToBaseline: { perMinute: Math.round((claims.perMinute / Math.max(1, baseline.perMinute)) * 100) / 100, p95: Math.round((claims.p95Ms / Math.max(1, baseline.p95Ms)) * 100) / 100 },
      podStart: pods,
      targets: { claimsPerMinute: 600, boundP95Ms: 2000 },
      met: { claimsPerMinute: claims.perMinute >= 600, boundP95Ms: claims.p95Ms < 2000 },
    };
    for (const w of await watcher.started) w.abort();
    process.stdout.write(`${JSON.stringify(report, null, settings.json ? 0 : 2)}\n`);
  } finally {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes allocated in each node's pool, in node order. */
async function poolsUsed(cluster: EngineCluster): Promise<number[]> {
  return Promise.all(
    cluster.nodes.map(async (n) => {
      if (!n.ready?.admin) throw new Error(`engine ${n.name} has no admin endpoint`);
      const status = await engineAdmin([n.ready.admin]).admin.call(adminApi.status);
      return status.pool.used ?? 0;
    }),
  );
}

async function waitRunning(core: CoreV1Api, name: string): Promise<void> {
  await pollUntil(
    async () => {
      const p = await core.readNamespacedPod({ namespace: NS, name });
      return p.status?.phase === "Running" || undefined;
    },
    { timeoutMs: 120_000, intervalMs: 20, what: `pod ${name} running` },
  );
}

await main();
