// Trust stores (folder of *.pub.pem, JSON list) and the policy: unsigned, unknown key, bad signature.
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, writeKeyPair } from '../../src/bitstream/signing.js';
import { checkSignature, TrustStore } from '../../src/bitstream/trust.js';
import { clone, expectRefusal, make, testKey, testTrust, useTempDir } from './fixtures.js';

const tempDir = useTempDir();

describe('trust store', () => {
  it('loads every *.pub.pem of a folder, named after the file', () => {
    const keys = tempDir();
    const trust = tempDir();
    const a = writeKeyPair(keys, 'alpha');
    const b = writeKeyPair(keys, 'beta');
    copyFileSync(a.publicKeyPath, path.join(trust, 'alpha.pub.pem'));
    copyFileSync(b.publicKeyPath, path.join(trust, 'beta.pub.pem'));
    writeFileSync(path.join(trust, 'README.md'), 'not a key');
    const store = TrustStore.load(trust);
    expect(store.size).toBe(2);
    expect(store.get(a.keyId)?.name).toBe('alpha');
    expect(store.get(b.keyId)?.source).toBe(path.join(trust, 'beta.pub.pem'));
  });

  it('loads a JSON list of named keys, checking any keyId given', () => {
    const dir = tempDir();
    const k = generateSigningKey();
    const file = path.join(dir, 'trust.json');
    writeFileSync(file, JSON.stringify([{ name: 'ci', keyId: k.keyId, publicKey: k.publicKeyPem }]));
    expect(TrustStore.load(file).get(k.keyId)?.name).toBe('ci');
    writeFileSync(
      file,
      JSON.stringify([{ name: 'ci', keyId: '0123456789abcdef', publicKey: k.publicKeyPem }]),
    );
    expectRefusal(
      () => TrustStore.load(file),
      'BITSTREAM_KEY',
      /keyId 0123456789abcdef does not match its key/,
    );
  });

  it('refuses a malformed store instead of silently trusting less', () => {
    const dir = tempDir();
    const list = path.join(dir, 'trust.json');
    writeFileSync(list, JSON.stringify([{ name: 'x', publicKey: 'nope', extra: 1 }]));
    expectRefusal(() => TrustStore.load(list), 'BITSTREAM_KEY', /trust\[0\].extra: is not a known field/);
    writeFileSync(list, '{');
    expectRefusal(() => TrustStore.load(list), 'BITSTREAM_KEY', /not a JSON list/);
    const folder = tempDir();
    writeFileSync(path.join(folder, 'bad.pub.pem'), 'junk');
    expectRefusal(() => TrustStore.load(folder), 'BITSTREAM_KEY', /bad.pub.pem: not a PEM public key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    writeFileSync(path.join(folder, 'bad.pub.pem'), rsa);
    expectRefusal(() => TrustStore.load(folder), 'BITSTREAM_KEY', /rsa key; only ed25519/);
    expectRefusal(() => TrustStore.load(path.join(dir, 'missing')), 'BITSTREAM_KEY', /cannot be read/);
  });
});

describe('signature policy', () => {
  const signed = make().descriptor;
  const unsigned = make({}, { sign: false }).descriptor;
  const sha = signed.image.sha256;

  it('accepts a signature by a trusted key', () => {
    expect(checkSignature(signed, sha, testTrust)).toEqual({
      signed: true,
      keyId: testKey.keyId,
      keyName: 'test',
    });
  });

  it('refuses an unsigned image unless the policy allows unsigned images', () => {
    expectRefusal(
      () => checkSignature(unsigned, sha, testTrust),
      'BITSTREAM_UNSIGNED',
      /is not signed: sign it .*\(--allow-unsigned\)/,
    );
    expectRefusal(
      () => checkSignature(unsigned, sha, testTrust, { allowUnsigned: false }),
      'BITSTREAM_UNSIGNED',
    );
    expect(checkSignature(unsigned, sha, testTrust, { allowUnsigned: true })).toEqual({ signed: false });
  });

  it('refuses an unknown key, even when unsigned images are allowed', () => {
    expectRefusal(
      () => checkSignature(signed, sha, TrustStore.empty()),
      'BITSTREAM_UNKNOWN_KEY',
      new RegExp(`key ${testKey.keyId}, which is not in the trust store`),
    );
    expectRefusal(
      () => checkSignature(signed, sha, TrustStore.empty(), { allowUnsigned: true }),
      'BITSTREAM_UNKNOWN_KEY',
    );
  });

  it('refuses a bad signature, even when unsigned images are allowed', () => {
    const tampered = clone(signed);
    tampered.description = 'something else';
    expectRefusal(
      () => checkSignature(tampered, sha, testTrust),
      'BITSTREAM_BAD_SIGNATURE',
      /does not match the descriptor and image/,
    );
    expectRefusal(
      () => checkSignature(signed, 'f'.repeat(64), testTrust, { allowUnsigned: true }),
      'BITSTREAM_BAD_SIGNATURE',
    );
  });

  it('refuses a signature made by another key that claims a trusted keyId', () => {
    const impostor = generateSigningKey();
    const forged = make({}, { key: { ...impostor, keyId: testKey.keyId } }).descriptor;
    expect(forged.signature!.keyId).toBe(testKey.keyId);
    expectRefusal(() => checkSignature(forged, sha, testTrust), 'BITSTREAM_BAD_SIGNATURE');
  });
});
