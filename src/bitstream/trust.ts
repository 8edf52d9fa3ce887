// The trust store (public keys whose signatures are accepted) and the signature policy
// (docs/bitstreams.md, "Trust store and policy"). A trust store is a folder of `*.pub.pem` files or
// a JSON list of named keys.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { RaError } from '../common/errors.js';
import { packageRoot } from '../driver/native.js';
import { BitstreamCode } from './codes.js';
import { type Descriptor, describeAjvError } from './descriptor.js';
import { trustListSchema } from './schema.js';
import { keyIdOf, signatureValid } from './signing.js';

/** The package's own trust store: the project's development key (bitstreams/trust). */
export const defaultTrustPath = path.join(packageRoot, 'bitstreams', 'trust');

export interface TrustedKey {
  keyId: string;
  name: string;
  publicKey: KeyObject;
  /** File the key came from. */
  source: string;
}

export interface SignaturePolicy {
  /** Accept images without a signature (development only). Signed images are always verified. */
  allowUnsigned: boolean;
}

export const defaultPolicy: SignaturePolicy = { allowUnsigned: false };

export type SignatureStatus = { signed: true; keyId: string; keyName: string } | { signed: false };

const validateTrustList = new Ajv2020({ allErrors: true, strict: true }).compile(trustListSchema);

function parsePublicKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new RaError(BitstreamCode.KEY, `${source}: not a PEM public key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new RaError(
      BitstreamCode.KEY,
      `${source}: holds a ${key.asymmetricKeyType} key; only ed25519 keys are trusted`,
    );
  }
  return key;
}

export class TrustStore {
  private readonly keys = new Map<string, TrustedKey>();

  private constructor(keys: readonly TrustedKey[]) {
    for (const k of keys) this.keys.set(k.keyId, k);
  }

  static empty(): TrustStore {
    return new TrustStore([]);
  }

  /** Every key of every store (the first store's entry wins for a key in several). */
  static union(...stores: readonly TrustStore[]): TrustStore {
    return new TrustStore([...stores].reverse().flatMap((s) => s.list()));
  }

  /** Keys given as PEM text (tests, embedding). */
  static fromPem(keys: readonly { name: string; publicKey: string }[]): TrustStore {
    return new TrustStore(
      keys.map((k) => {
        const publicKey = parsePublicKey(k.publicKey, k.name);
        return { keyId: keyIdOf(publicKey), name: k.name, publicKey, source: k.name };
      }),
    );
  }

  /**
   * Loads a folder (every `*.pub.pem` in it; name = file name less `.pub.pem`) or a JSON file
   * (`[{name, publicKey: PEM, keyId?}]`; a given keyId must match the key). A malformed key refuses
   * the whole store: a typo must not silently distrust an image.
   */
  static load(location: string = defaultTrustPath): TrustStore {
    let isDir: boolean;
    try {
      isDir = statSync(location).isDirectory();
    } catch (err) {
      throw new RaError(
        BitstreamCode.KEY,
        `trust store ${location} cannot be read: ${(err as Error).message}`,
      );
    }
    return isDir ? TrustStore.loadFolder(location) : TrustStore.loadList(location);
  }

  private static loadFolder(dir: string): TrustStore {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.pub.pem'))
      .sort();
    return new TrustStore(
      files.map((f) => {
        const source = path.join(dir, f);
        const publicKey = parsePublicKey(readFileSync(source, 'utf8'), source);
        return { keyId: keyIdOf(publicKey), name: f.slice(0, -'.pub.pem'.length), publicKey, source };
      }),
    );
  }

  private static loadList(file: string): TrustStore {
    let list: unknown;
    try {
      list = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new RaError(
        BitstreamCode.KEY,
        `trust store ${file} is not a JSON list of keys: ${(err as Error).message}`,
      );
    }
    if (!validateTrustList(list)) {
      const errs = (validateTrustList.errors ?? []).map((e) => describeAjvError(e, 'trust'));
      throw new RaError(
        BitstreamCode.KEY,
        `trust store ${file} is invalid: ${errs.map((e) => `${e.field}: ${e.rule}`).join('; ')}`,
      );
    }
    const entries = list as unknown as { name: string; publicKey: string; keyId?: string }[];
    return new TrustStore(
      entries.map((e, i) => {
        const source = `${file}[${i}]`;
        const publicKey = parsePublicKey(e.publicKey, source);
        const keyId = keyIdOf(publicKey);
        if (e.keyId !== undefined && e.keyId !== keyId) {
          throw new RaError(
            BitstreamCode.KEY,
            `${source}: keyId ${e.keyId} does not match its key (${keyId})`,
          );
        }
        return { keyId, name: e.name, publicKey, source };
      }),
    );
  }

  get(keyId: string): TrustedKey | undefined {
    return this.keys.get(keyId);
  }

  list(): TrustedKey[] {
    return [...this.keys.values()];
  }

  get size(): number {
    return this.keys.size;
  }
}

/**
 * Applies the policy: an unsigned descriptor passes only with allowUnsigned; a signed one must be
 * signed by a trusted key and verify over the descriptor and `imageSha256` (computed from the image
 * bytes by the caller), whatever the policy.
 */
export function checkSignature(
  d: Descriptor,
  imageSha256: string,
  trust: TrustStore,
  policy: SignaturePolicy = defaultPolicy,
): SignatureStatus {
  if (!d.signature) {
    if (policy.allowUnsigned) return { signed: false };
    throw new RaError(
      BitstreamCode.UNSIGNED,
      `bitstream ${d.id} is not signed: sign it (rafabric bitstream sign) or allow unsigned images for development (--allow-unsigned)`,
    );
  }
  const key = trust.get(d.signature.keyId);
  if (!key) {
    throw new RaError(
      BitstreamCode.UNKNOWN_KEY,
      `bitstream ${d.id} is signed by key ${d.signature.keyId}, which is not in the trust store: add its .pub.pem to the trust store if you trust it`,
      { keyId: d.signature.keyId },
    );
  }
  if (!signatureValid(d, imageSha256, key.publicKey)) {
    throw new RaError(
      BitstreamCode.BAD_SIGNATURE,
      `bitstream ${d.id}: the signature by key ${key.keyId} (${key.name}) does not match the descriptor and image; they were changed after signing or signed with another key`,
      { keyId: key.keyId },
    );
  }
  return { signed: true, keyId: key.keyId, keyName: key.name };
}
