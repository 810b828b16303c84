/** The node role: one engine node in cluster mode, run as a child process and stopped within a time limit. */
import path from "node:path";
import type { Logger } from "pino";
import type { NodeEnv } from "../env";
import { EngineNodeService } from "../local/processes";

/** `IP:<replication port>` (brackets for IPv6): the listener is on 0.0.0.0, which is no address to give peers. */
export function advertiseAddress(nodeIp: string, listenReplication: string): string {
  const port = listenReplication.slice(listenReplication.lastIndexOf(":") + 1);
  return `${nodeIp.includes(":") ? `[${nodeIp}]` : nodeIp}:${port}`;
}

export function nodeService(env: NodeEnv, log: Logger): EngineNodeService {
  return new EngineNodeService({
    id: env.STOWAGE_NODE_ID,
    ...(env.STOWAGE_ZONE === undefined ? {} : { zone: env.STOWAGE_ZONE }),
    ...(env.STOWAGE_RACK === undefined ? {} : { rack: env.STOWAGE_RACK }),
    etcd: env.STOWAGE_ETCD,
    poolDir: path.resolve(env.STOWAGE_POOL_DIR),
    tlsDir: path.resolve(env.STOWAGE_TLS_DIR),
    ...(env.STOWAGE_CAPACITY === undefined ? {} : { capacity: env.STOWAGE_CAPACITY }),
    ...(env.STOWAGE_KMS_KEY_FILE === undefined ? {} : { kmsKeyFile: path.resolve(env.STOWAGE_KMS_KEY_FILE) }),
    logFile: path.join(path.resolve(env.STOWAGE_POOL_DIR), "..", `${env.STOWAGE_NODE_ID}.log`),
    log,
    listen: {
      replication: env.STOWAGE_LISTEN_REPLICATION,
      nbd: env.STOWAGE_NBD,
      admin: env.STOWAGE_ADMIN,
      ...(env.STOWAGE_ADMIN_TLS === undefined ? {} : { adminTls: env.STOWAGE_ADMIN_TLS }),
      ...(env.STOWAGE_ADMIN_TLS_NAMES === undefined ? {} : { adminTlsNames: env.STOWAGE_ADMIN_TLS_NAMES }),
      ...(env.STOWAGE_NODE_IP === undefined ? {} : { advertise: advertiseAddress(env.STOWAGE_NODE_IP, env.STOWAGE_LISTEN_REPLICATION) }),
    },
    extraArgs: ["--lease-ttl", String(env.STOWAGE_LEASE_TTL_SECONDS), "--log-level", env.STOWAGE_LOG_LEVEL],
  });
}
