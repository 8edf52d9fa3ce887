// verifyBitstream: one entry point, every refusal, in a fixed order (descriptor, image, signature, adapter).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrustStore } from '../../src/bitstream/trust.js';
import { verifyBitstream, verifyBitstreamFile } from '../../src/bitstream/verify.js';
import {
  expectRefusal,
  loose,
  make,
  modelIdentity,
  testKey,
  testTrust,
  useTempDir,
  write,
} from './fixtures.js';

const tempDir = useTempDir();
const options = { trust: testTrust, target: modelIdentity };

describe('verifyBitstream', () => {
  it('accepts a signed, consistent, compatible bitstream', () => {
    const { descriptor, image } = make();
    const v = verifyBitstream({ descriptor, image }, options);
    expect(v.signature).toEqual({ signed: true, keyId: testKey.keyId, keyName: 'test' });
    expect(v.payloadBytes).toBe(8192);
    expect(v.imageSha256).toBe(descriptor.image.sha256);
  });

  it('verifies the files on disk the same way', () => {
    const file = write(tempDir(), make());
    expect(verifyBitstreamFile(file, options).descriptorPath).toBe(file);
  });

  const refusals: [string, () => unknown, string][] = [
    [
      'a descriptor with a missing field',
      () => {
        const { descriptor, image } = make();
        const d = loose(descriptor);
        delete d.footprint;
        return verifyBitstream({ descriptor: d, image }, options);
      },
      'BITSTREAM_DESCRIPTOR',
    ],
    [
      'a truncated image',
      () => {
        const { descriptor, image } = make();
        return verifyBitstream({ descriptor, image: image.subarray(0, 1000) }, options);
      },
      'BITSTREAM_SIZE',
    ],
    [
      'a wrong hash',
      () => {
        const { descriptor, image } = make();
        const img = Buffer.from(image);
        img[img.length - 1]! ^= 0xff;
        return verifyBitstream({ descriptor, image: img }, options);
      },
      'BITSTREAM_HASH',
    ],
    ['an unsigned image', () => verifyBitstream(make({}, { sign: false }), options), 'BITSTREAM_UNSIGNED'],
    [
      'an unknown key',
      () => verifyBitstream(make(), { ...options, trust: TrustStore.empty() }),
      'BITSTREAM_UNKNOWN_KEY',
    ],
    [
      'a bad signature',
      () => {
        const { descriptor, image } = make();
        return verifyBitstream({ descriptor: { ...descriptor, vendor: 'mallory' }, image }, options);
      },
      'BITSTREAM_BAD_SIGNATURE',
    ],
    [
      'an image too big for the slot',
      () => verifyBitstream(make(), { ...options, target: { ...modelIdentity, slotBytes: 4096 } }),
      'BITSTREAM_TOO_BIG',
    ],
    [
      'an incompatible spec version',
      () => verifyBitstream(make(), { ...options, target: { ...modelIdentity, specVersion: '2.0' } }),
      'BITSTREAM_SPEC',
    ],
    [
      'a function the adapter lacks',
      () => verifyBitstream(make(), { ...options, target: { ...modelIdentity, functions: 0x2 } }),
      'BITSTREAM_FUNCTION',
    ],
    [
      'an unknown function',
      () => {
        const { descriptor, image } = make();
        return verifyBitstream({ descriptor: { ...descriptor, function: 'fft' }, image }, options);
      },
      'BITSTREAM_DESCRIPTOR',
    ],
    [
      'a path that escapes the folder',
      () => {
        const { descriptor, image } = make();
        return verifyBitstream(
          { descriptor: { ...descriptor, image: { ...descriptor.image, file: '../test-crc.rabit' } }, image },
          options,
        );
      },
      'BITSTREAM_PATH',
    ],
  ];
  for (const [what, run, code] of refusals) {
    it(`refuses ${what} (${code})`, () => {
      expectRefusal(run, code);
    });
  }

  it('checks the image before the signature, and the signature before the adapter', () => {
    // Unsigned AND too big: the policy speaks first.
    expectRefusal(
      () =>
        verifyBitstream(make({}, { sign: false }), {
          ...options,
          target: { ...modelIdentity, slotBytes: 1 },
        }),
      'BITSTREAM_UNSIGNED',
    );
    // Truncated AND unsigned: the image speaks first.
    const { descriptor, image } = make({}, { sign: false });
    expectRefusal(() => verifyBitstream({ descriptor, image: image.subarray(1) }, options), 'BITSTREAM_SIZE');
  });

  it('names the descriptor file in schema errors', () => {
    const dir = tempDir();
    const made = make();
    write(dir, made);
    const d = loose(made.descriptor);
    d.footprint.computeUnits = 'two';
    writeFileSync(path.join(dir, 'test-crc.rabit.json'), JSON.stringify(d));
    expectRefusal(
      () => verifyBitstreamFile(path.join(dir, 'test-crc.rabit.json'), options),
      'BITSTREAM_DESCRIPTOR',
      'descriptor test-crc.rabit.json is invalid: descriptor.footprint.computeUnits: must be integer',
    );
  });
});
