/**
 * A private test network: a bridge in this namespace (10.77.K.1/24) and one
 * network namespace per node, each joined to the bridge by a veth pair
 * (10.77.K.1x). Cutting a node's veth isolates it from etcd (on the bridge
 * address) and from every other node. Only addresses inside 10.77.K.0/24 and
 * loopback are ever used. Everything created is removed by `destroy`, which
 * is safe to call after a partial setup.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
  await run("ip", args);
}

export interface TestNetwork {
  subnet: string;
  bridgeIp: string;
  nodes: Array<{ ns: string; ip: string; hostIf: string }>;
  cut(index: number): Promise<void>;
  heal(index: number): Promise<void>;
  destroy(): Promise<void>;
}

/** Throws a clear error when network namespaces cannot be created here (not root, no CAP_NET_ADMIN, no ip). */
export async function createTestNetwork(count: number): Promise<TestNetwork> {
  const tag = String(process.pid % 10000);
  const k = (process.pid % 200) + 20;
  const bridge = `stwb${tag}`;
  const subnet = `10.77.${k}`;
  const nodes = Array.from({ length: count }, (_, i) => ({ ns: `stw-${tag}-n${i + 1}`, ip: `${subnet}.${11 + i}`, hostIf: `stwh${i + 1}x${tag}`, nsIf: `stwn${i + 1}x${tag}` }));
  const destroy = async (): Promise<void> => {
    for (const n of nodes) {
      await ip("netns", "del", n.ns).catch(() => undefined);
      await ip("link", "del", n.hostIf).catch(() => undefined);
    }
    await ip("link", "del", bridge).catch(() => undefined);
  };
  await destroy(); // leftovers of an earlier run with the same pid
  try {
    await ip("link", "add", bridge, "type", "bridge");
    await ip("addr", "add", `${subnet}.1/24`, "dev", bridge);
    await ip("link", "set", bridge, "up");
    for (const n of nodes) {
      await ip("netns", "add", n.ns);
      await ip("link", "add", n.hostIf, "type", "veth", "peer", "name", n.nsIf);
      await ip("link", "set", n.nsIf, "netns", n.ns);
      await ip("link", "set", n.hostIf, "master", bridge);
      await ip("link", "set", n.hostIf, "up");
      await ip("-n", n.ns, "addr", "add", `${n.ip}/24`, "dev", n.nsIf);
      await ip("-n", n.ns, "link", "set", n.nsIf, "up");
      await ip("-n", n.ns, "link", "set", "lo", "up");
    }
  } catch (err) {
    await destroy();
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`network namespaces are unavailable (this test needs root with CAP_NET_ADMIN and iproute2): ${message}`);
  }
  const hostIf = (i: number): string => {
    const n = nodes[i];
    if (!n) throw new Error(`no node ${i}`);
    return n.hostIf;
  };
  return {
    subnet,
    bridgeIp: `${subnet}.1`,
    nodes: nodes.map(({ ns, ip: addr, hostIf: h }) => ({ ns, ip: addr, hostIf: h })),
    cut: (i) => ip("link", "set", hostIf(i), "down"),
    heal: (i) => ip("link", "set", hostIf(i), "up"),
    destroy,
  };
}
