/** Test set-up shared by the sidecar and kubelet tests: a private etcd, the in-process API server on it, an admin kubeconfig and clients. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startKubeApiServer, type KubeApiServer } from "@stowage/kube-apiserver";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { kubeClients, type KubeClients } from "../kube-access";

export interface ApiHarness {
  etcd: PrivateEtcd;
  server: KubeApiServer;
  kubeconfig: string;
  kube: KubeClients;
  /** A fresh temporary directory, removed at stop. */
  dir: string;
  stop(): Promise<void>;
}

export async function startApiHarness(): Promise<ApiHarness> {
  const etcd = await startEtcd();
  const server = await startKubeApiServer({ etcd: etcd.endpoint, tokens: [{ token: "admin-token", user: "admin", groups: ["system:masters"] }] });
  const kubeconfig = server.kubeconfig("admin-token");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-cluster-"));
  return {
    etcd,
    server,
    kubeconfig,
    kube: kubeClients(kubeconfig),
    dir,
    async stop() {
      await server.stop();
      await etcd.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
