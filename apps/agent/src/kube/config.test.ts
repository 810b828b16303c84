import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createKubeClients, loadKubeConfig, SERVICE_ACCOUNT_DIR } from "./config";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "stowage-kubecfg-"));

describe("loadKubeConfig", () => {
  it("reads STOWAGE_KUBECONFIG when set", () => {
    const file = path.join(tmp(), "config");
    fs.writeFileSync(
      file,
      ["apiVersion: v1", "kind: Config", "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]", "users: [{name: u, user: {token: t}}]", "contexts: [{name: x, context: {cluster: c, user: u}}]", "current-context: x"].join("\n"),
    );
    const kc = loadKubeConfig({ STOWAGE_KUBECONFIG: file });
    expect(kc.getCurrentCluster()?.server).toBe("https://127.0.0.1:6443");
    const clients = createKubeClients(kc);
    expect(Object.keys(clients).sort()).toEqual(["apiextensions", "apps", "coordination", "core", "customObjects", "events", "kubeConfig", "objects", "storage"]);
  });

  it("names the variable when the kubeconfig file is missing", () => {
    expect(() => loadKubeConfig({ STOWAGE_KUBECONFIG: "/nonexistent/kubeconfig" })).toThrow(/STOWAGE_KUBECONFIG: no file/);
  });

  it("uses the service account in a pod: server from KUBERNETES_SERVICE_HOST/PORT, IPv6 bracketed", () => {
    const prefix = tmp();
    fs.mkdirSync(path.join(prefix, SERVICE_ACCOUNT_DIR), { recursive: true });
    for (const f of ["token", "ca.crt", "namespace"]) fs.writeFileSync(path.join(prefix, SERVICE_ACCOUNT_DIR, f), f === "namespace" ? "stowage-system" : "x");
    const kc = loadKubeConfig({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, { pathPrefix: prefix });
    expect(kc.getCurrentCluster()?.server).toBe("https://[fd00::1]:443");
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe("stowage-system");
  });

  it("outside a pod without a kubeconfig, says to set STOWAGE_KUBECONFIG", () => {
    expect(() => loadKubeConfig({})).toThrow(/set STOWAGE_KUBECONFIG/);
    expect(() => loadKubeConfig({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "https" })).toThrow(/KUBERNETES_SERVICE_PORT: a port number/);
  });
});
