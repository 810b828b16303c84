/** The real kubectl (through the version dispatcher) against the server: apply, get, wait, diff, SSA, scale, describe, explain, delete. */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appManifest, crdManifest } from "./fixtures-manifest";
import { adminToken, startHarness, type Harness } from "./harness";

let h: Harness;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile("/usr/bin/kubectl", ["--kubeconfig", path.join(dir, "kubeconfig"), ...args], { cwd: dir, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  h = await startHarness();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-kubectl-"));
  h.server.writeKubeconfig(path.join(dir, "kubeconfig"), adminToken);
  fs.writeFileSync(path.join(dir, "crd.yaml"), crdManifest);
  fs.writeFileSync(path.join(dir, "app.yaml"), appManifest(1, "one"));
  fs.writeFileSync(path.join(dir, "app-changed.yaml"), appManifest(2, "two"));
});

afterAll(async () => {
  await h.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("kubectl against the in-process API server", () => {
  it("is dispatched to kubectl 1.32 by the reported server version", async () => {
    const run = await kubectl("version", "-v=6");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Server Version: v1.32.5");
    // The dispatcher runs the binary matching the server minor version; its own version line says which.
    expect(run.stdout).toMatch(/Client Version: v1\.3[2-9]/);
  });

  it("applies a CRD, waits for Established, then applies a multi-document manifest", async () => {
    expect((await kubectl("apply", "-f", "crd.yaml")).code).toBe(0);
    const wait = await kubectl("wait", "--for=condition=Established", "crd/widgets.demo.stowage.io", "--timeout=20s");
    expect(wait.code).toBe(0);
    expect(wait.stdout).toContain("condition met");
    const apply = await kubectl("apply", "-f", "app.yaml");
    expect(apply.code, apply.stderr).toBe(0);
    for (const line of ["namespace/kubectl-demo created", "configmap/settings created", "deployment.apps/idle created", "storageclass.storage.k8s.io/stowage-test created", "widget.demo.stowage.io/first-widget created"]) {
      expect(apply.stdout).toContain(line);
    }
  });

  it("prints tables with the real columns, wide columns and YAML", async () => {
    const deploy = await kubectl("get", "deployments", "-n", "kubectl-demo");
    expect(deploy.stdout).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    expect(deploy.stdout).toMatch(/idle\s+0\/1\s+0\s+0\s+\d+s/);
    const widgets = await kubectl("get", "widgets", "-n", "kubectl-demo", "-o", "wide");
    expect(widgets.stdout).toMatch(/NAME\s+SIZE\s+COLOR\s+AGE/);
    expect(widgets.stdout).toMatch(/first-widget\s+10Gi\s+blue/);
    const narrow = await kubectl("get", "widgets", "-n", "kubectl-demo");
    expect(narrow.stdout).not.toContain("COLOR");
    const sc = await kubectl("get", "storageclass", "stowage-test");
    expect(sc.stdout).toMatch(/stowage-test\s+csi\.stowage\.io\s+Delete\s+Immediate\s+false/);
    const yaml = await kubectl("get", "widget", "first-widget", "-n", "kubectl-demo", "-o", "yaml");
    expect(yaml.stdout).toContain("color: blue");
    expect(yaml.stdout).toMatch(/resourceVersion: "\d+"/);
  });

  it("diffs, re-applies through the patch path, and applies server-side", async () => {
    const diff = await kubectl("diff", "-f", "app-changed.yaml");
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain("+  replicas: 2");
    expect(diff.stdout).toContain("+  mode: two");
    const apply = await kubectl("apply", "-f", "app-changed.yaml");
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toContain("configmap/settings configured");
    expect(apply.stdout).toContain("namespace/kubectl-demo unchanged");
    const mode = await kubectl("get", "cm", "settings", "-n", "kubectl-demo", "-o", "jsonpath={.data.mode}");
    expect(mode.stdout).toBe("two");
    const env = await kubectl("get", "deploy", "idle", "-n", "kubectl-demo", "-o", "jsonpath={.spec.template.spec.containers[0].env[0].value}");
    expect(env.stdout).toBe("two");
    const ssa = await kubectl("apply", "--server-side", "-f", "app-changed.yaml");
    expect(ssa.code, ssa.stderr).toBe(0);
    expect(ssa.stdout).toContain("deployment.apps/idle serverside-applied");
    const managers = await kubectl("get", "deploy", "idle", "-n", "kubectl-demo", "-o", "jsonpath={.metadata.managedFields[*].manager}", "--show-managed-fields");
    expect(managers.stdout.split(" ")).toContain("kubectl");
  });

  it("scales through /scale and describes objects", async () => {
    const scale = await kubectl("scale", "deployment", "idle", "-n", "kubectl-demo", "--replicas=0");
    expect(scale.code, scale.stderr).toBe(0);
    const replicas = await kubectl("get", "deploy", "idle", "-n", "kubectl-demo", "-o", "jsonpath={.spec.replicas}");
    expect(replicas.stdout).toBe("0");
    const describeWidget = await kubectl("describe", "widget", "first-widget", "-n", "kubectl-demo");
    expect(describeWidget.code, describeWidget.stderr).toBe(0);
    expect(describeWidget.stdout).toMatch(/Size:\s+10Gi/);
    const describeDeploy = await kubectl("describe", "deployment", "idle", "-n", "kubectl-demo");
    expect(describeDeploy.stdout).toMatch(/RollingUpdateStrategy:\s+25% max unavailable, 25% max surge/);
  });

  it("explains CR and built-in fields from the OpenAPI v3 documents", async () => {
    const widget = await kubectl("explain", "widgets.spec");
    expect(widget.code, widget.stderr).toBe(0);
    expect(widget.stdout).toContain("What the widget should be.");
    expect(widget.stdout).toMatch(/size\s+<string> -required-/);
    const containers = await kubectl("explain", "deployment.spec.template.spec.containers");
    expect(containers.code, containers.stderr).toBe(0);
    expect(containers.stdout).toContain("KIND:       Deployment");
  });

  it("deletes objects and waits until they are gone; the namespace goes Terminating", async () => {
    const del = await kubectl("delete", "-n", "kubectl-demo", "configmap/settings", "deployment/idle", "widget/first-widget", "--timeout=20s");
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toContain('widget.demo.stowage.io "first-widget" deleted');
    const gone = await kubectl("get", "cm", "settings", "-n", "kubectl-demo");
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('configmaps "settings" not found');
    // Namespace content removal is the namespace controller's job; the API marks it Terminating.
    const ns = await kubectl("delete", "namespace", "kubectl-demo", "--wait=false");
    expect(ns.code).toBe(0);
    const phase = await kubectl("get", "ns", "kubectl-demo", "-o", "jsonpath={.status.phase}");
    expect(phase.stdout).toBe("Terminating");
    fs.writeFileSync(path.join(dir, "late.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: kubectl-demo\n");
    const late = await kubectl("create", "-f", "late.yaml");
    expect(late.code).not.toBe(0);
    expect(late.stderr).toContain("because it is being terminated");
  });

  it("installs Stowage with kubectl apply -k from the repository's deploy overlay, and applies it again unchanged", async () => {
    const overlay = path.resolve(import.meta.dirname, "../../../deploy/overlays/local");
    const apply = await kubectl("apply", "-k", overlay);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toContain("daemonset.apps/stowage-node created");
    expect(apply.stdout).toContain("csidriver.storage.k8s.io/csi.stowage.io created");
    expect(apply.stdout).toContain("customresourcedefinition.apiextensions.k8s.io/storagenodes.stowage.io created");
    const again = await kubectl("apply", "-k", overlay);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("storageclass.storage.k8s.io/stowage-replicated unchanged");
    const classes = await kubectl("get", "storageclass");
    expect(classes.stdout).toMatch(/stowage-replicated\s+csi\.stowage\.io\s+Delete\s+WaitForFirstConsumer\s+true/);
    const wait = await kubectl("wait", "--for=condition=Established", "crd/storagenodes.stowage.io", "--timeout=20s");
    expect(wait.code, wait.stderr).toBe(0);
    const describe = await kubectl("describe", "daemonset", "stowage-node", "-n", "stowage-system");
    expect(describe.code, describe.stderr).toBe(0);
    const del = await kubectl("delete", "-k", overlay, "--wait=false");
    expect(del.code, del.stderr).toBe(0);
  });
});
