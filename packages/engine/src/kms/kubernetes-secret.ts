import { EngineError } from "../errors";
import { gcmWrap, kekFingerprint, parseKek, unwrapWithKek, type KeyContext, type KmsProvider, type WrappedKey } from "./provider";

export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

/**
 * Returns the decoded value of one key of a Secret, or undefined when the
 * Secret or key doesn't exist. The agent supplies it from its Kubernetes
 * client, which keeps the engine free of Kubernetes imports.
 */
export type SecretGetter = (ref: SecretRef) => Promise<Buffer | string | undefined>;

/** KEK held in a Kubernetes Secret, read through an injected getter. */
export class KubernetesSecretKms implements KmsProvider {
  readonly kind = "kubernetes-secret";

  constructor(readonly options: { getSecret: SecretGetter; secret: SecretRef }) {}

  private async kek(): Promise<Buffer> {
    const { secret } = this.options;
    let value: Buffer | string | undefined;
    try {
      value = await this.options.getSecret(secret);
    } catch (err) {
      throw new EngineError("UNAVAILABLE", `secret ${secret.namespace}/${secret.name} cannot be read`, { cause: err });
    }
    if (value === undefined) throw new EngineError("KEY_NOT_FOUND", `secret ${secret.namespace}/${secret.name} has no key "${secret.key}"`);
    return parseKek(value);
  }

  async wrapKey(plaintext: Buffer, context: KeyContext): Promise<WrappedKey> {
    const kek = await this.kek();
    return { provider: this.kind, keyId: kekFingerprint(kek), ciphertext: gcmWrap(kek, plaintext, context) };
  }

  async unwrapKey(wrapped: WrappedKey, context: KeyContext): Promise<Buffer> {
    return unwrapWithKek(this.kind, await this.kek(), wrapped, context);
  }
}
