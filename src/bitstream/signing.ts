// Ed25519 signing of bitstream descriptors (docs/bitstreams.md, "Signing"). A signature covers the
// canonical JSON of the descriptor without its `signature` field and the sha256 of the image file
// as computed by the verifier, so neither file can change without breaking it. Ed25519 signatures
// are deterministic: signing the same bytes with the same key always gives the same signature.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { BitstreamCode } from './codes.js';
import { type Descriptor, type UnsignedDescriptor, withoutSignature } from './descriptor.js';

/** Domain separation: a signature made for a descriptor never verifies as anything else. */
const SIGNED_PREFIX = 'rafabric.bitstream/v1 signature\n';

/**
 * Canonical JSON (RFC 8785 for the values a descriptor holds: strings, integers, booleans, null,
 * arrays, objects): object keys sorted by UTF-16 code units, no whitespace.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new RaError(BitstreamCode.DESCRIPTOR, `cannot canonicalise the number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new RaError(BitstreamCode.DESCRIPTOR, `cannot canonicalise a value of type ${typeof value}`);
}

/** The bytes a signature covers. */
export function signedMessage(d: Descriptor | UnsignedDescriptor, imageSha256: string): Buffer {
  return Buffer.from(`${SIGNED_PREFIX}${canonicalJson(withoutSignature(d))}\n${imageSha256}\n`, 'utf8');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** keyId: the first 16 hex digits of sha256 of the raw 32-byte ed25519 public key. */
export function keyIdOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new RaError(
      BitstreamCode.KEY,
      `key is ${publicKey.asymmetricKeyType ?? 'not asymmetric'}, expected ed25519`,
    );
  }
  return sha256Hex(Buffer.from(jwk.x, 'base64url')).slice(0, 16);
}

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface GeneratedKey extends SigningKey {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateSigningKey(): GeneratedKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    privateKey,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface WrittenKeyPair {
  keyId: string;
  privateKeyPath: string;
  publicKeyPath: string;
}

/**
 * Writes `<name>.key.pem` (PKCS#8, mode 0600) and `<name>.pub.pem` (SPKI) into `dir`; refuses to
 * overwrite either. `comment` lines (e.g. a development-key warning) precede the PEM blocks.
 */
export function writeKeyPair(
  dir: string,
  name: string,
  { comment }: { comment?: string } = {},
): WrittenKeyPair {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `key name '${name}' must be 1-64 characters of letters, digits, '.', '_' and '-'`,
    );
  }
  const privateKeyPath = path.join(dir, `${name}.key.pem`);
  const publicKeyPath = path.join(dir, `${name}.pub.pem`);
  for (const p of [privateKeyPath, publicKeyPath]) {
    if (existsSync(p))
      throw new RaError(BitstreamCode.EXISTS, `${p} already exists: choose another --name or folder`);
  }
  const key = generateSigningKey();
  const prefix = comment
    ? `${comment
        .split('\n')
        .map((l) => `# ${l}`.trimEnd())
        .join('\n')}\n`
    : '';
  mkdirSync(dir, { recursive: true });
  writeFileSync(privateKeyPath, prefix + key.privateKeyPem, { mode: 0o600, flag: 'wx' });
  writeFileSync(publicKeyPath, prefix + key.publicKeyPem, { flag: 'wx' });
  return { keyId: key.keyId, privateKeyPath, publicKeyPath };
}

/** Reads a PKCS#8 ed25519 private key PEM (text before the PEM block is ignored). */
export function readSigningKey(file: string): SigningKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RaError(BitstreamCode.KEY, `cannot read the private key ${file}: ${(err as Error).message}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch (err) {
    throw new RaError(BitstreamCode.KEY, `${file} is not a PEM private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new RaError(
      BitstreamCode.KEY,
      `${file} holds a ${privateKey.asymmetricKeyType} key; bitstreams are signed with ed25519`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

/** Returns the descriptor with a fresh signature over it and the image file's sha256. */
export function signDescriptor(
  d: Descriptor | UnsignedDescriptor,
  imageSha256: string,
  key: SigningKey,
): Descriptor {
  const value = sign(null, signedMessage(d, imageSha256), key.privateKey).toString('base64');
  return { ...withoutSignature(d), signature: { keyId: key.keyId, algorithm: 'ed25519', value } };
}

/** True when `d.signature` verifies with `publicKey` over `d` and the image sha256. */
export function signatureValid(d: Descriptor, imageSha256: string, publicKey: KeyObject): boolean {
  if (!d.signature) return false;
  return verify(null, signedMessage(d, imageSha256), publicKey, Buffer.from(d.signature.value, 'base64'));
}
