/**
 * A list+watch cache that survives its watch ending: client-node's ListWatch stops on an error
 * (a 410 after compaction, a dropped connection) and must be started again; this restarts it with a
 * capped backoff and tells the owner about every object added, changed or deleted.
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";

export interface Cache<T> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): ReadonlyArray<T>;
}

export interface RunningInformer<T> extends Cache<T> {
  /** Resolves once the first list has filled the cache. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

export interface InformerOptions<T extends KubernetesObject> {
  config: KubeConfig;
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  fieldSelector?: string;
  onChange: (obj: T, deleted: boolean) => void;
  onError: (err: unknown) => void;
}

export function startInformer<T extends KubernetesObject>(opts: InformerOptions<T>): RunningInformer<T> {
  const lw = new ListWatch<T>(opts.path, new Watch(opts.config), opts.list, false, undefined, opts.fieldSelector);
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  lw.on("add", (o) => opts.onChange(o, false));
  lw.on("update", (o) => opts.onChange(o, false));
  lw.on("delete", (o) => opts.onChange(o, true));
  lw.on("connect", () => {
    failures = 0;
  });
  const restart = (err: unknown) => {
    if (stopped) return;
    opts.onError(err);
    failures += 1;
    timer = setTimeout(() => {
      lw.start().catch(restart);
    }, Math.min(5_000, 100 * 2 ** failures));
  };
  lw.on("error", restart);
  const synced = (async () => {
    // The first list can fail while the API server is still starting: keep trying until stopped.
    for (;;) {
      try {
        await lw.start();
        return;
      } catch (err) {
        if (stopped) return;
        opts.onError(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return {
    synced,
    get: (name, namespace) => lw.get(name, namespace),
    list: (namespace) => lw.list(namespace),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await lw.stop();
    },
  };
}

/** The queue key of an object: `namespace/name`, or `name` for cluster-scoped kinds. */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns ? `${ns}/${name}` : name;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
