/**
 * Files of a cluster's TLS material: the CA created by `cluster init`, and
 * each node's certificate. A node given only the CA files issues its own
 * certificate on first start and keeps it next to them.
 */
import { X509Certificate } from "node:crypto";
import { access, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ADMIN_TLS_FILES, issueAdminCertificate, type AdminClientTls } from "../admin/tls";
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

/** Names and addresses a node's certificate must carry (beyond its node id): what clients dial. */
export interface NodeCertNames {
  ips?: string[];
  dnsNames?: string[];
}

/** Whether `certPem` is valid for every name and address asked. */
function coversNames(certPem: string, names: NodeCertNames): boolean {
  const cert = new X509Certificate(certPem);
  return (names.ips ?? []).every((ip) => cert.checkIP(ip) !== undefined) && (names.dnsNames ?? []).every((dns) => cert.checkHost(dns, { wildcards: false }) !== undefined);
}

/**
 * The node's TLS material from `dir`: its own certificate, or one issued now from the CA key
 * there. A certificate kept from an earlier start that lacks a name or address now asked for
 * (the node was given another advertised address, or an admin Service name) is issued again
 * when the CA key is there, so HTTPS clients dialing that name can verify the node.
 */
export async function loadNodeTls(dir: string, nodeId: string, names: string[] | NodeCertNames = {}): Promise<NodeTls> {
  const wanted: NodeCertNames = Array.isArray(names) ? { ips: names } : names;
  const caPem = await readFile(path.join(dir, CA_CERT), "utf8");
  const certFile = path.join(dir, nodeCert(nodeId));
  const keyFile = path.join(dir, nodeKey(nodeId));
  const caKeyFile = path.join(dir, CA_KEY);
  const hasCaKey = await exists(caKeyFile);
  if (await exists(certFile)) {
    const certPem = await readFile(certFile, "utf8");
    // Without the CA key the kept certificate is all there is; clients dialing a missing name fail verification and say so.
    if (!hasCaKey || coversNames(certPem, wanted)) return { caPem, certPem, keyPem: await readFile(keyFile, "utf8") };
  }
  if (!hasCaKey) throw new Error(`no certificate for node ${nodeId} in ${dir}, and no CA key to issue one`);
  const pair = await issueNodeCertificate({ certPem: caPem, keyPem: await readFile(caKeyFile, "utf8") }, nodeId, {
    ...(wanted.ips === undefined ? {} : { ips: wanted.ips }),
    ...(wanted.dnsNames === undefined ? {} : { dnsNames: wanted.dnsNames }),
  });
  await writeFile(keyFile, pair.keyPem, { mode: 0o600 });
  await writeFile(certFile, pair.certPem);
  return { caPem, ...pair };
}

/**
 * Issues an admin client certificate (admin/tls.ts) from the CA in `tlsDir` into `outDir`:
 * ca.pem, admin.pem and admin-key.pem (0600), the layout clients read with `readAdminClientTls`.
 */
export async function writeAdminCertificate(tlsDir: string, name: string, outDir: string): Promise<string[]> {
  const caKeyFile = path.join(tlsDir, CA_KEY);
  const caCertFile = path.join(tlsDir, CA_CERT);
  if (!(await exists(caCertFile))) throw new Error(`no cluster CA in ${tlsDir} (${CA_CERT} is missing; 'stowage-engine cluster init' creates it)`);
  if (!(await exists(caKeyFile))) throw new Error(`no CA key in ${tlsDir} (${CA_KEY} is missing): admin certificates are issued where the cluster CA's key is kept`);
  const caPem = await readFile(caCertFile, "utf8");
  const pair = await issueAdminCertificate({ certPem: caPem, keyPem: await readFile(caKeyFile, "utf8") }, name);
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const keyFile = path.join(outDir, ADMIN_TLS_FILES.key);
  await writeFile(keyFile, pair.keyPem, { mode: 0o600 });
  // writeFile's mode applies only to a new file: an older key file keeps its mode otherwise.
  await chmod(keyFile, 0o600);
  await writeFile(path.join(outDir, ADMIN_TLS_FILES.cert), pair.certPem);
  await writeFile(path.join(outDir, ADMIN_TLS_FILES.ca), caPem);
  return [ADMIN_TLS_FILES.ca, ADMIN_TLS_FILES.cert, ADMIN_TLS_FILES.key];
}

/** An admin client's TLS material from a directory of ca.pem, admin.pem and admin-key.pem. */
export async function readAdminClientTls(dir: string): Promise<AdminClientTls> {
  const read = (file: string): Promise<string> =>
    readFile(path.join(dir, file), "utf8").catch((err: unknown) => {
      throw new Error(`cannot read ${path.join(dir, file)}: ${err instanceof Error ? err.message : String(err)}`);
    });
  return { ca: await read(ADMIN_TLS_FILES.ca), cert: await read(ADMIN_TLS_FILES.cert), key: await read(ADMIN_TLS_FILES.key) };
}
