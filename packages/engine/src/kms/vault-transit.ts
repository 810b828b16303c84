import { z } from "zod";
import { EngineError } from "../errors";
import type { KeyContext, KmsProvider, WrappedKey } from "./provider";

export interface VaultTransitOptions {
  /** e.g. "https://vault.example:8200" */
  readonly address: string;
  readonly token: string;
  /** Transit key name. */
  readonly keyName: string;
  /** Mount path of the transit engine; "transit" by default. */
  readonly mount?: string;
  /** Vault Enterprise namespace, sent as X-Vault-Namespace. */
  readonly namespace?: string;
  readonly timeoutMs?: number;
  /** Injectable for tests and custom TLS agents; the global fetch by default. */
  readonly fetch?: typeof fetch;
}

const encryptResponse = z.object({ data: z.object({ ciphertext: z.string().startsWith("vault:") }) });
const decryptResponse = z.object({ data: z.object({ plaintext: z.string() }) });
const errorResponse = z.object({ errors: z.array(z.string()) });

/**
 * HashiCorp Vault transit engine over its HTTP API: the KEK never leaves
 * Vault; we send the DEK to `POST /v1/<mount>/encrypt/<key>` and store the
 * returned `vault:v<n>:...` ciphertext. Vault's AES-GCM keys authenticate the
 * ciphertext, so a wrong key or tampering is reported by Vault as an error.
 */
export class VaultTransitKms implements KmsProvider {
  readonly kind = "vault-transit";

  constructor(readonly options: VaultTransitOptions) {}

  private async call(op: "encrypt" | "decrypt", body: Record<string, string>): Promise<unknown> {
    const { address, token, keyName, mount = "transit", namespace, timeoutMs = 10_000 } = this.options;
    const doFetch = this.options.fetch ?? fetch;
    const url = `${address.replace(/\/+$/, "")}/v1/${mount}/${op}/${encodeURIComponent(keyName)}`;
    const headers: Record<string, string> = { "X-Vault-Token": token, "Content-Type": "application/json" };
    if (namespace) headers["X-Vault-Namespace"] = namespace;
    let res: Response;
    try {
      res = await doFetch(url, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new EngineError("UNAVAILABLE", `vault at ${address} is unreachable`, { cause: err });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : {};
    } catch (err) {
      throw new EngineError("UNAVAILABLE", `vault returned a non-JSON ${op} response (HTTP ${res.status})`, { cause: err });
    }
    if (res.ok) return json;
    const parsed = errorResponse.safeParse(json);
    const detail = parsed.success ? parsed.data.errors.join("; ") : `HTTP ${res.status}`;
    if (res.status === 403) throw new EngineError("ACCESS_DENIED", `vault ${op} denied: ${detail}`);
    if (res.status === 400 && /not found/i.test(detail)) throw new EngineError("KEY_NOT_FOUND", `vault transit key "${keyName}" not found`);
    if (res.status === 400 && op === "decrypt") throw new EngineError("WRONG_KEY", `vault could not decrypt the data key: ${detail}`);
    throw new EngineError(res.status >= 500 ? "UNAVAILABLE" : "INVALID", `vault ${op} failed: ${detail}`);
  }

  async wrapKey(plaintext: Buffer, _context: KeyContext): Promise<WrappedKey> {
    const json = encryptResponse.safeParse(await this.call("encrypt", { plaintext: plaintext.toString("base64") }));
    if (!json.success) throw new EngineError("UNAVAILABLE", "vault encrypt response has no ciphertext");
    return { provider: this.kind, keyId: this.options.keyName, ciphertext: json.data.data.ciphertext };
  }

  async unwrapKey(wrapped: WrappedKey, _context: KeyContext): Promise<Buffer> {
    if (wrapped.provider !== this.kind) {
      throw new EngineError("INVALID", `wrapped key belongs to provider "${wrapped.provider}", not "${this.kind}"`);
    }
    if (wrapped.keyId !== this.options.keyName) {
      throw new EngineError("WRONG_KEY", `data key was wrapped with transit key "${wrapped.keyId}", not "${this.options.keyName}"`);
    }
    const json = decryptResponse.safeParse(await this.call("decrypt", { ciphertext: wrapped.ciphertext }));
    if (!json.success) throw new EngineError("UNAVAILABLE", "vault decrypt response has no plaintext");
    return Buffer.from(json.data.data.plaintext, "base64");
  }
}
