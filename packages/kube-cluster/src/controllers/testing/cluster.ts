/** A real etcd and kube-apiserver for the controller and scheduler suites, with a client to drive them. */
import { startKubeApiServer, type KubeApiServer } from "@stowage/kube-apiserver";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import { KubeClient, type ResourceRef } from "../../shared/client";
import { resources } from "../../shared/resources";

export interface TestCluster {
  etcd: PrivateEtcd;
  api: KubeApiServer;
  kubeconfig: string;
  client: KubeClient;
  stop(): Promise<void>;
}

export async function startTestCluster(): Promise<TestCluster> {
  const etcd = await startEtcd();
  const token = "controllers-test-token";
  const api = await startKubeApiServer({ etcd: etcd.endpoint, tokens: [{ token, user: "admin", groups: ["system:masters"] }] });
  const kubeconfig = api.kubeconfig(token);
  return {
    etcd,
    api,
    kubeconfig,
    client: KubeClient.fromKubeconfig(kubeconfig),
    stop: async () => {
      await api.stop();
      await etcd.stop();
    },
  };
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create(resources.namespaces, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

export async function listNames(client: KubeClient, ref: ResourceRef, namespace?: string, labelSelector?: string): Promise<string[]> {
  const list = await client.list<KubernetesObject>(ref, namespace, labelSelector ? { labelSelector } : {});
  return list.items.map((i) => i.metadata?.name ?? "").sort();
}

/** Polls until `check` answers a value (not undefined/false), naming what it waited for. */
export function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  return pollUntil(check, { what, timeoutMs, intervalMs: 50 });
}

export const container = { name: "app", image: "registry.example/app:1" };

/** A Deployment of `replicas` pods labelled app=<name>. */
export function deployment(name: string, replicas: number, image = container.image): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ ...container, image }] } } },
  };
}
