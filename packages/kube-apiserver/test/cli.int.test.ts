/** The CLI: strict flags (exit 2 with usage), a JSON ready line, and a kubeconfig that reaches the server. */
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = path.join(import.meta.dirname, "..", "bin", "stowage-kube-apiserver.mjs");
let etcd: PrivateEtcd;
let dir: string;

beforeAll(async () => {
  etcd = await startEtcd();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-kas-cli-"));
  fs.writeFileSync(path.join(dir, "tokens.csv"), 'cli-token,admin,uid-1,"system:masters"\n');
});
afterAll(async () => {
  await etcd.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("stowage-kube-apiserver", () => {
  it("exits 2 with the usage line on an unknown flag", async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, "--bogus"], (err, _stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : null, stderr }));
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("usage: stowage-kube-apiserver");
  });

  it("prints a ready line and writes a kubeconfig kubectl can use", async () => {
    const kubeconfig = path.join(dir, "kubeconfig");
    const child = spawn(process.execPath, [bin, "--etcd", etcd.endpoint, "--listen", "127.0.0.1:0", "--token-file", path.join(dir, "tokens.csv"), "--cert-dir", path.join(dir, "certs"), "--kubeconfig-out", kubeconfig]);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once("data", (d: Buffer) => resolve(d.toString()));
        child.once("exit", (code) => reject(new Error(`exited ${code ?? "?"}`)));
      });
      expect(JSON.parse(line)).toMatchObject({ event: "ready", url: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/) as unknown, kubeconfig });
      expect(fs.existsSync(path.join(dir, "certs", "ca.crt"))).toBe(true);
      const out = await new Promise<string>((resolve, reject) => {
        execFile("/usr/bin/kubectl", ["--kubeconfig", kubeconfig, "get", "namespaces", "-o", "name"], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
      });
      expect(out.split("\n")).toContain("namespace/default");
    } finally {
      child.kill("SIGTERM");
    }
  });
});
