import { readFile, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { EngineError, errnoCode } from "../errors";
import { gcmWrap, kekFingerprint, parseKek, unwrapWithKek, type KeyContext, type KmsProvider, type WrappedKey } from "./provider";

/**
 * KEK from a file on the node (32 raw bytes, hex or base64). The file is read
 * on every wrap/unwrap so a rotated or mounted-late file is picked up without
 * restarting; volumes are opened rarely, so the cost doesn't matter.
 */
export class LocalFileKms implements KmsProvider {
  readonly kind = "local-file";

  constructor(readonly options: { path: string }) {}

  /** Creates a new random KEK file (mode 0600); fails if it already exists. */
  static async generateKeyFile(path: string): Promise<void> {
    await writeFile(path, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  }

  private async kek(): Promise<Buffer> {
    try {
      return parseKek(await readFile(this.options.path));
    } catch (err) {
      if (err instanceof EngineError) throw err;
      if (errnoCode(err) === "ENOENT") throw new EngineError("KEY_NOT_FOUND", `key file ${this.options.path} does not exist`, { cause: err });
      throw new EngineError("UNAVAILABLE", `key file ${this.options.path} cannot be read`, { cause: err });
    }
  }

  /** Fingerprint of the KEK in the file (what a wrap records as `keyId`); fails as wrap would. */
  async keyId(): Promise<string> {
    return kekFingerprint(await this.kek());
  }

  async wrapKey(plaintext: Buffer, context: KeyContext): Promise<WrappedKey> {
    const kek = await this.kek();
    return { provider: this.kind, keyId: kekFingerprint(kek), ciphertext: gcmWrap(kek, plaintext, context) };
  }

  async unwrapKey(wrapped: WrappedKey, context: KeyContext): Promise<Buffer> {
    return unwrapWithKek(this.kind, await this.kek(), wrapped, context);
  }
}
