import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTempDir } from "../util/test-helpers";
import { KubernetesSecretKms, type SecretRef } from "./kubernetes-secret";
import { LocalFileKms } from "./local-file";
import { EngineError } from "../errors";
import { parseKek } from "./provider";
import { VaultTransitKms } from "./vault-transit";

const ctx = { volumeId: "0b1c6f5e-6a55-4d39-9f0e-2f4bb6d0c001" };
const dek = randomBytes(64);

let dir: string;
useTempDir((d) => (dir = d));

describe("parseKek", () => {
  it("accepts raw, hex and base64 keys and rejects other lengths", () => {
    const k = randomBytes(32);
    expect(parseKek(k).equals(k)).toBe(true);
    expect(parseKek(k.toString("hex") + "\n").equals(k)).toBe(true);
    expect(parseKek(k.toString("base64")).equals(k)).toBe(true);
    expect(() => parseKek("too-short")).toThrow(EngineError);
  });
});

describe("LocalFileKms", () => {
  it("wraps and unwraps; the wrap is not the key", async () => {
    const file = path.join(dir, "kek");
    await LocalFileKms.generateKeyFile(file);
    const kms = new LocalFileKms({ path: file });
    const wrapped = await kms.wrapKey(dek, ctx);
    expect(wrapped.provider).toBe("local-file");
    expect(Buffer.from(wrapped.ciphertext, "base64").includes(dek)).toBe(false);
    expect((await kms.unwrapKey(wrapped, ctx)).equals(dek)).toBe(true);
  });

  it("names a wrong key file as WRONG_KEY and a missing one as KEY_NOT_FOUND", async () => {
    const a = path.join(dir, "a");
    const b = path.join(dir, "b");
    await LocalFileKms.generateKeyFile(a);
    await LocalFileKms.generateKeyFile(b);
    const wrapped = await new LocalFileKms({ path: a }).wrapKey(dek, ctx);
    await expect(new LocalFileKms({ path: b }).unwrapKey(wrapped, ctx)).rejects.toMatchObject({ code: "WRONG_KEY" });
    await expect(new LocalFileKms({ path: path.join(dir, "none") }).unwrapKey(wrapped, ctx)).rejects.toMatchObject({ code: "KEY_NOT_FOUND" });
  });

  it("binds the wrap to the volume and detects tampering", async () => {
    const file = path.join(dir, "kek");
    await LocalFileKms.generateKeyFile(file);
    const kms = new LocalFileKms({ path: file });
    const wrapped = await kms.wrapKey(dek, ctx);
    await expect(kms.unwrapKey(wrapped, { volumeId: "other" })).rejects.toMatchObject({ code: "WRONG_KEY" });
    const raw = Buffer.from(wrapped.ciphertext, "base64");
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    await expect(kms.unwrapKey({ ...wrapped, ciphertext: raw.toString("base64") }, ctx)).rejects.toMatchObject({ code: "WRONG_KEY" });
  });
});

describe("KubernetesSecretKms", () => {
  it("reads the KEK through the injected getter", async () => {
    const kek = randomBytes(32);
    const seen: SecretRef[] = [];
    const secrets = new Map([["stowage-system/kek/key", kek.toString("base64")]]);
    const getSecret = async (ref: SecretRef): Promise<string | undefined> => {
      seen.push(ref);
      return secrets.get(`${ref.namespace}/${ref.name}/${ref.key}`);
    };
    const kms = new KubernetesSecretKms({ getSecret, secret: { namespace: "stowage-system", name: "kek", key: "key" } });
    const wrapped = await kms.wrapKey(dek, ctx);
    expect((await kms.unwrapKey(wrapped, ctx)).equals(dek)).toBe(true);
    expect(seen[0]).toEqual({ namespace: "stowage-system", name: "kek", key: "key" });

    secrets.set("stowage-system/kek/key", randomBytes(32).toString("base64"));
    await expect(kms.unwrapKey(wrapped, ctx)).rejects.toMatchObject({ code: "WRONG_KEY" });
    secrets.clear();
    await expect(kms.unwrapKey(wrapped, ctx)).rejects.toMatchObject({ code: "KEY_NOT_FOUND" });
    const failing = new KubernetesSecretKms({
      getSecret: () => Promise.reject(new Error("apiserver down")),
      secret: { namespace: "n", name: "s", key: "k" },
    });
    await expect(failing.wrapKey(dek, ctx)).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});

/**
 * A wire-compatible stand-in for HashiCorp Vault's transit engine, written for
 * this test: `POST /v1/transit/encrypt/<key>` and `/decrypt/<key>` with
 * `X-Vault-Token`, base64 plaintext, `vault:v1:<base64(nonce|ciphertext|tag)>`
 * ciphertext (AES-256-GCM, as Vault's default aes256-gcm96 key type), and
 * Vault's `{"errors": [...]}` error bodies.
 */
function startFakeVault(token: string): Promise<{ server: Server; url: string; keys: Map<string, Buffer>; requests: string[] }> {
  const keys = new Map<string, Buffer>();
  const requests: string[] = [];
  const body = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    let text = "";
    for await (const chunk of req) text += String(chunk);
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  };
  const server = createServer((req, res) => {
    const reply = (status: number, json: unknown): void => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(json));
    };
    void (async () => {
      requests.push(`${req.method} ${req.url}`);
      if (req.headers["x-vault-token"] !== token) return reply(403, { errors: ["permission denied"] });
      const m = /^\/v1\/transit\/(encrypt|decrypt)\/([^/]+)$/.exec(req.url ?? "");
      if (req.method !== "POST" || !m) return reply(404, { errors: [] });
      const [, op, name = ""] = m;
      const json = await body(req);
      if (op === "encrypt") {
        let key = keys.get(name);
        if (!key) keys.set(name, (key = randomBytes(32)));
        const nonce = randomBytes(12);
        const c = createCipheriv("aes-256-gcm", key, nonce);
        const ct = Buffer.concat([c.update(Buffer.from(String(json.plaintext), "base64")), c.final()]);
        return reply(200, { data: { ciphertext: `vault:v1:${Buffer.concat([nonce, ct, c.getAuthTag()]).toString("base64")}`, key_version: 1 } });
      }
      const key = keys.get(name);
      if (!key) return reply(400, { errors: ["encryption key not found"] });
      const raw = Buffer.from(String(json.ciphertext).replace(/^vault:v1:/, ""), "base64");
      try {
        const d = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
        d.setAuthTag(raw.subarray(raw.length - 16));
        const pt = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
        return reply(200, { data: { plaintext: pt.toString("base64") } });
      } catch {
        return reply(400, { errors: ["cipher: message authentication failed"] });
      }
    })();
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, keys, requests });
    });
  });
}

describe("VaultTransitKms", () => {
  let vault: Awaited<ReturnType<typeof startFakeVault>>;
  beforeAll(async () => {
    vault = await startFakeVault("s.root");
  });
  afterAll(async () => {
    await new Promise((r) => vault.server.close(r));
  });

  it("wraps through transit encrypt and unwraps through decrypt", async () => {
    const kms = new VaultTransitKms({ address: vault.url, token: "s.root", keyName: "stowage" });
    const wrapped = await kms.wrapKey(dek, ctx);
    expect(wrapped.ciphertext).toMatch(/^vault:v1:/);
    expect(wrapped.keyId).toBe("stowage");
    expect((await kms.unwrapKey(wrapped, ctx)).equals(dek)).toBe(true);
    expect(vault.requests).toContain("POST /v1/transit/encrypt/stowage");
    expect(vault.requests).toContain("POST /v1/transit/decrypt/stowage");
  });

  it("maps Vault errors: bad token, rotated/wrong key, unreachable server", async () => {
    const good = new VaultTransitKms({ address: vault.url, token: "s.root", keyName: "k2" });
    const wrapped = await good.wrapKey(dek, ctx);
    await expect(new VaultTransitKms({ address: vault.url, token: "bad", keyName: "k2" }).unwrapKey(wrapped, ctx)).rejects.toMatchObject({
      code: "ACCESS_DENIED",
    });
    // Same key name, different key material in Vault: GCM authentication fails server-side.
    vault.keys.set("k2", randomBytes(32));
    await expect(good.unwrapKey(wrapped, ctx)).rejects.toMatchObject({ code: "WRONG_KEY" });
    await expect(new VaultTransitKms({ address: vault.url, token: "s.root", keyName: "other" }).unwrapKey(wrapped, ctx)).rejects.toMatchObject({
      code: "WRONG_KEY",
    });
    await expect(new VaultTransitKms({ address: "http://127.0.0.1:1", token: "s.root", keyName: "k2", timeoutMs: 2000 }).wrapKey(dek, ctx)).rejects.toMatchObject({
      code: "UNAVAILABLE",
    });
  });
});

describe("key file edge cases", () => {
  it("rejects a key file of the wrong size", async () => {
    const file = path.join(dir, "short");
    await writeFile(file, "abcd");
    await expect(new LocalFileKms({ path: file }).wrapKey(dek, ctx)).rejects.toMatchObject({ code: "INVALID" });
  });
});
