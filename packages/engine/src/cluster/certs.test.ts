import { X509Certificate } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { initClusterTls, loadNodeTls } from "./certs";

describe("cluster TLS files", () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), "stowage-certs-"));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("creates a CA and node certificates signed by it, and refuses to replace the CA", async () => {
    const dir = tmp();
    await initClusterTls(dir, { name: "t", nodeIds: ["a", "b"] });
    expect(readdirSync(dir).sort()).toEqual(["a-key.pem", "a.pem", "b-key.pem", "b.pem", "ca-key.pem", "ca.pem"]);
    const a = await loadNodeTls(dir, "a");
    const ca = new X509Certificate(a.caPem);
    const cert = new X509Certificate(a.certPem);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subject).toContain("CN=a");
    await expect(initClusterTls(dir, { name: "t", nodeIds: ["c"] })).rejects.toThrow(/refusing/);
  });

  it("issues a node's certificate from the CA key on first load, then reuses it", async () => {
    const dir = tmp();
    await initClusterTls(dir, { name: "t", nodeIds: [] });
    const first = await loadNodeTls(dir, "late", ["10.77.1.5"]);
    expect(new X509Certificate(first.certPem).subjectAltName).toContain("IP Address:10.77.1.5");
    const again = await loadNodeTls(dir, "late");
    expect(again.certPem).toBe(first.certPem);
    unlinkSync(path.join(dir, "ca-key.pem"));
    await expect(loadNodeTls(dir, "other")).rejects.toThrow(/no CA key/);
  });
});
