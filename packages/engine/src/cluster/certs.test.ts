import { X509Certificate } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { adminCertificateProblem } from "../admin/tls";
import { initClusterTls, loadNodeTls, readAdminClientTls, writeAdminCertificate } from "./certs";

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

  it("issues a node's certificate again when a name or address now asked for is missing", async () => {
    const dir = tmp();
    await initClusterTls(dir, { name: "t", nodeIds: ["a"] });
    const before = await loadNodeTls(dir, "a");
    const after = await loadNodeTls(dir, "a", { ips: ["10.0.0.7"], dnsNames: ["stowage-node-admin.stowage-system.svc"] });
    expect(after.certPem).not.toBe(before.certPem);
    const cert = new X509Certificate(after.certPem);
    expect(cert.checkIP("10.0.0.7")).toBe("10.0.0.7");
    expect(cert.checkHost("stowage-node-admin.stowage-system.svc")).toBe("stowage-node-admin.stowage-system.svc");
    expect(cert.checkHost("a")).toBe("a");
    expect((await loadNodeTls(dir, "a", { ips: ["10.0.0.7"] })).certPem).toBe(after.certPem);
  });

  it("writes an admin client certificate (key 0600) marked for administration, and refuses without the CA key", async () => {
    const dir = tmp();
    await initClusterTls(dir, { name: "t", nodeIds: ["a"] });
    const out = path.join(tmp(), "admin");
    expect(await writeAdminCertificate(dir, "ops", out)).toEqual(["ca.pem", "admin.pem", "admin-key.pem"]);
    expect(statSync(path.join(out, "admin-key.pem")).mode & 0o777).toBe(0o600);
    const tls = await readAdminClientTls(out);
    const cert = new X509Certificate(tls.cert);
    expect(cert.verify(new X509Certificate(tls.ca).publicKey)).toBe(true);
    expect(cert.subject).toContain("O=stowage-admin");
    expect(adminCertificateProblem({ subject: { O: "stowage-admin", CN: "stowage-admin:ops", C: "", ST: "", L: "", OU: "" }, ext_key_usage: ["1.3.6.1.5.5.7.3.2"] })).toBeNull();
    // A node certificate of the same CA is not an admin one.
    expect(adminCertificateProblem({ subject: { CN: "a", O: "", C: "", ST: "", L: "", OU: "" }, ext_key_usage: ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"] })).toMatch(/O=stowage-admin/);
    unlinkSync(path.join(dir, "ca-key.pem"));
    await expect(writeAdminCertificate(dir, "ops", out)).rejects.toThrow(/no CA key/);
  });
});
