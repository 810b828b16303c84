/**
 * Files of a cluster's TLS material: the CA created by `cluster init`, and
 * each node's certificate. A node given only the CA files issues its own
 * certificate on first start and keeps it next to them.
 */
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createClusterCa, issueNodeCertificate, type PemPair } from "../replication/tls";

export type NodeTls = PemPair & { caPem: string };

const CA_CERT = "ca.pem";
const CA_KEY = "ca-key.pem";
const nodeCert = (id: string): string => `${id}.pem`;
const nodeKey = (id: string): string => `${id}-key.pem`;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Creates the cluster CA in `dir` (refusing to overwrite one) and certificates for `nodeIds`. */
export async function initClusterTls(dir: string, opts: { name: string; nodeIds: string[]; ips?: string[] }): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (await exists(path.join(dir, CA_CERT))) throw new Error(`${path.join(dir, CA_CERT)} already exists; refusing to replace the cluster CA`);
  const ca = await createClusterCa(opts.name);
  await writeFile(path.join(dir, CA_KEY), ca.keyPem, { mode: 0o600 });
  await writeFile(path.join(dir, CA_CERT), ca.certPem);
  const written = [CA_CERT, CA_KEY];
  for (const id of opts.nodeIds) {
    const pair = await issueNodeCertificate(ca, id, opts.ips ? { ips: opts.ips } : {});
    await writeFile(path.join(dir, nodeKey(id)), pair.keyPem, { mode: 0o600 });
    await writeFile(path.join(dir, nodeCert(id)), pair.certPem);
    written.push(nodeCert(id), nodeKey(id));
  }
  return written;
}

/** The node's TLS material from `dir`: its own certificate, or one issued now from the CA key there. */
export async function loadNodeTls(dir: string, nodeId: string, ips?: string[]): Promise<NodeTls> {
  const caPem = await readFile(path.join(dir, CA_CERT), "utf8");
  const certFile = path.join(dir, nodeCert(nodeId));
  const keyFile = path.join(dir, nodeKey(nodeId));
  if (await exists(certFile)) {
    return { caPem, certPem: await readFile(certFile, "utf8"), keyPem: await readFile(keyFile, "utf8") };
  }
  const caKeyFile = path.join(dir, CA_KEY);
  if (!(await exists(caKeyFile))) throw new Error(`no certificate for node ${nodeId} in ${dir}, and no CA key to issue one`);
  const pair = await issueNodeCertificate({ certPem: caPem, keyPem: await readFile(caKeyFile, "utf8") }, nodeId, ips ? { ips } : {});
  await writeFile(keyFile, pair.keyPem, { mode: 0o600 });
  await writeFile(certFile, pair.certPem);
  return { caPem, ...pair };
}
