// Ed25519 signing: keygen files, keyId, canonical form, deterministic signatures, tamper detection.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDescriptor, withoutSignature } from '../../src/bitstream/descriptor.js';
import {
  canonicalJson,
  keyIdOf,
  readSigningKey,
  signatureValid,
  signDescriptor,
  signedMessage,
  writeKeyPair,
} from '../../src/bitstream/signing.js';
import { clone, expectRefusal, type Loose, loose, make, testKey, useTempDir } from './fixtures.js';

const tempDir = useTempDir();

describe('keys', () => {
  it('keygen writes a PKCS#8 private key (0600) and an SPKI public key', () => {
    const dir = tempDir();
    const k = writeKeyPair(dir, 'acme');
    expect(k.privateKeyPath).toBe(path.join(dir, 'acme.key.pem'));
    expect(k.publicKeyPath).toBe(path.join(dir, 'acme.pub.pem'));
    expect(readFileSync(k.privateKeyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(k.publicKeyPath, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(statSync(k.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(readSigningKey(k.privateKeyPath).keyId).toBe(k.keyId);
  });

  it('keyId is the first 16 hex digits of sha256 of the raw 32-byte public key', () => {
    const raw = Buffer.from(testKey.publicKey.export({ format: 'jwk' }).x!, 'base64url');
    expect(raw.length).toBe(32);
    expect(testKey.keyId).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 16));
    expect(keyIdOf(createPublicKey(testKey.publicKeyPem))).toBe(testKey.keyId);
  });

  it('keygen refuses to overwrite and refuses odd names', () => {
    const dir = tempDir();
    writeKeyPair(dir, 'acme');
    expectRefusal(() => writeKeyPair(dir, 'acme'), 'BITSTREAM_EXISTS', /already exists/);
    expectRefusal(() => writeKeyPair(dir, '../evil'), 'INVALID_ARGUMENT', /key name/);
  });

  it('reads a key with comment lines before the PEM block (the development key has them)', () => {
    const dir = tempDir();
    const k = writeKeyPair(dir, 'dev', { comment: 'DEVELOPMENT KEY\nnot secret' });
    expect(readFileSync(k.privateKeyPath, 'utf8')).toMatch(/^# DEVELOPMENT KEY\n# not secret\n-----BEGIN/);
    expect(readSigningKey(k.privateKeyPath).keyId).toBe(k.keyId);
  });

  it('refuses a missing, malformed or non-ed25519 private key', () => {
    const dir = tempDir();
    expectRefusal(() => readSigningKey(path.join(dir, 'none.pem')), 'BITSTREAM_KEY', /cannot read/);
    writeFileSync(path.join(dir, 'junk.pem'), 'hello');
    expectRefusal(() => readSigningKey(path.join(dir, 'junk.pem')), 'BITSTREAM_KEY', /not a PEM private key/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    writeFileSync(path.join(dir, 'ec.pem'), ec);
    expectRefusal(
      () => readSigningKey(path.join(dir, 'ec.pem')),
      'BITSTREAM_KEY',
      /ec key; bitstreams are signed with ed25519/,
    );
  });
});

describe('canonical form', () => {
  it('sorts keys, drops whitespace and is independent of key order', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 's'], c: { z: 1, y: 'é' } })).toBe(
      '{"a":[true,null,"s"],"b":1,"c":{"y":"é","z":1}}',
    );
    const d = make().descriptor;
    const reverse = (v: unknown): unknown =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, reverse(x)]),
          )
        : v;
    const reordered = reverse(d);
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(d));
    expect(canonicalJson(reordered)).toBe(canonicalJson(d));
  });

  it('the signed message is the canonical descriptor without signature, then the image sha256', () => {
    const { descriptor } = make();
    const text = signedMessage(descriptor, 'ab'.repeat(32)).toString();
    expect(text).toBe(
      `rafabric.bitstream/v1 signature\n${canonicalJson(withoutSignature(descriptor))}\n${'ab'.repeat(32)}\n`,
    );
    expect(text).not.toMatch(/"signature"/);
  });
});

describe('signatures', () => {
  it('are deterministic: the same descriptor and key give the same signature', () => {
    const a = make().descriptor;
    const b = make().descriptor;
    expect(a.signature).toEqual(b.signature);
    expect(a.signature!.keyId).toBe(testKey.keyId);
    expect(Buffer.from(a.signature!.value, 'base64').length).toBe(64);
  });

  it('verify over the descriptor and the image sha256, whatever the formatting', () => {
    const { descriptor } = make();
    expect(signatureValid(descriptor, descriptor.image.sha256, testKey.publicKey)).toBe(true);
    const reparsed = JSON.parse(formatDescriptor(descriptor).replace(/\n\s*/g, ''));
    expect(signatureValid(reparsed, descriptor.image.sha256, testKey.publicKey)).toBe(true);
  });

  it('break when any descriptor field, the image hash or the signature changes', () => {
    const { descriptor } = make();
    const sha = descriptor.image.sha256;
    const edits: ((d: Loose) => void)[] = [
      (d) => (d.description += '.'),
      (d) => (d.interface.contexts = 8),
      (d) => (d.compatibility.specMax = '1.0'),
      (d) => (d.footprint.memoryBytes = 1),
      (d) => (d.version = '1.2.4'),
    ];
    for (const edit of edits) {
      const d = loose(descriptor);
      edit(d);
      expect(signatureValid(d as typeof descriptor, sha, testKey.publicKey)).toBe(false);
    }
    expect(signatureValid(descriptor, '0'.repeat(64), testKey.publicKey)).toBe(false);
    const forged = clone(descriptor);
    const sig = Buffer.from(forged.signature!.value, 'base64');
    sig[10]! ^= 1;
    forged.signature!.value = sig.toString('base64');
    expect(signatureValid(forged, sha, testKey.publicKey)).toBe(false);
  });

  it('re-signing replaces the signature', () => {
    const { descriptor } = make();
    const other = readSigningKey(writeKeyPair(tempDir(), 'other').privateKeyPath);
    const resigned = signDescriptor(descriptor, descriptor.image.sha256, other);
    expect(resigned.signature!.keyId).toBe(other.keyId);
    expect(signatureValid(resigned, descriptor.image.sha256, other.publicKey)).toBe(true);
    expect(signatureValid(resigned, descriptor.image.sha256, testKey.publicKey)).toBe(false);
  });
});
