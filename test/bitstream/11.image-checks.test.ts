// Does the image agree with its descriptor? Size, hashes, every header field, the stage list.
import { describe, expect, it } from 'vitest';
import { buildBitstream } from '../../src/bitstream/build.js';
import { buildImage, parseImageHeader, pipelinePayload } from '../../src/bitstream/image.js';
import { checkImage } from '../../src/bitstream/image-checks.js';
import { sha256Hex } from '../../src/bitstream/signing.js';
import { Img } from '../../src/driver/regs.js';
import { baseSpec, clone, expectRefusal, make } from './fixtures.js';

const { descriptor, image } = make();

/** Changes header bytes and fixes the descriptor's file hash so only the header is wrong. */
function withHeader(edit: (h: Buffer) => void) {
  const img = Buffer.from(image);
  edit(img);
  const d = clone(descriptor);
  d.image.sha256 = sha256Hex(img);
  return { d, img };
}

describe('image checks', () => {
  it('accept a built image and report its header', () => {
    const c = checkImage(descriptor, image);
    expect(c.payloadBytes).toBe(8192);
    expect(c.imageSha256).toBe(descriptor.image.sha256);
    expect(c.header).toMatchObject({
      functionId: 3,
      contexts: 4,
      version: 0x010203,
      name: 'test-crc',
      specMin: 0x10000,
      specMax: 0x1ffff,
    });
    expect(c.header.payloadSha256).toBe(descriptor.image.payloadSha256);
  });

  it('refuse a truncated image', () => {
    expectRefusal(
      () => checkImage(descriptor, image.subarray(0, image.length - 1)),
      'BITSTREAM_SIZE',
      /truncated: 8319 bytes, descriptor.image.bytes says 8320/,
    );
    expectRefusal(() => checkImage(descriptor, image.subarray(0, 64)), 'BITSTREAM_SIZE', /truncated/);
  });

  it('refuse an image longer than described', () => {
    expectRefusal(
      () => checkImage(descriptor, Buffer.concat([image, Buffer.alloc(1)])),
      'BITSTREAM_SIZE',
      /longer than described/,
    );
  });

  it('refuse a wrong file hash (one flipped payload bit)', () => {
    const img = Buffer.from(image);
    img[4000]! ^= 1;
    expectRefusal(() => checkImage(descriptor, img), 'BITSTREAM_HASH', /descriptor.image.sha256 says/);
  });

  it('refuse a payload that does not match the header or descriptor.image.payloadSha256', () => {
    const { d, img } = withHeader((h) => {
      h[200]! ^= 1;
    });
    expectRefusal(() => checkImage(d, img), 'BITSTREAM_HASH', /payload sha256 is/);
    const d2 = clone(descriptor);
    d2.image.payloadSha256 = '0'.repeat(64);
    expectRefusal(() => checkImage(d2, image), 'BITSTREAM_HASH', /descriptor.image.payloadSha256 says 0000/);
  });

  const malformed: [string, (h: Buffer) => void][] = [
    ['magic', (h) => h.writeUInt32LE(0x12345678, Img.MAGIC)],
    ['format', (h) => h.writeUInt16LE(2, Img.FORMAT)],
    ['header size', (h) => h.writeUInt16LE(64, Img.HEADER_SIZE)],
    ['flags', (h) => h.writeUInt32LE(1, Img.FLAGS)],
    ['reserved bytes', (h) => (h[Img.RESERVED + 5] = 1)],
  ];
  for (const [what, edit] of malformed) {
    it(`refuse a header with a bad ${what}`, () => {
      const { d, img } = withHeader(edit);
      expectRefusal(() => checkImage(d, img), 'BITSTREAM_HEADER', /malformed header/);
    });
  }

  const disagreeing: [string, (h: Buffer) => void, RegExp][] = [
    [
      'function',
      (h) => h.writeUInt32LE(2, Img.FUNCTION),
      /function 2 \(sha256\) but descriptor.function is crc32c/,
    ],
    ['unknown function', (h) => h.writeUInt32LE(9, Img.FUNCTION), /function 9 \(unknown\)/],
    [
      'contexts',
      (h) => h.writeUInt32LE(8, Img.CONTEXTS),
      /contexts 8 but descriptor.interface.contexts is 4/,
    ],
    [
      'spec min',
      (h) => h.writeUInt32LE(0x10001, Img.SPEC_MIN),
      /spec min 1.1 but descriptor.compatibility.specMin is 1.0/,
    ],
    [
      'spec max',
      (h) => h.writeUInt32LE(0x10003, Img.SPEC_MAX),
      /spec max 0x00010003 but descriptor.compatibility.specMax 1.x means 0x0001ffff/,
    ],
    ['version', (h) => h.writeUInt32LE(7, Img.VERSION), /version 0x00000007 but descriptor.version 1.2.3/],
    ['name', (h) => h.write('other', Img.NAME, 'latin1'), /name 'othercrc' but the id gives 'test-crc'/],
    [
      'payload size',
      (h) => h.writeBigUInt64LE(100n, Img.PAYLOAD_BYTES),
      /header says 100 payload bytes, the file holds 8192/,
    ],
  ];
  for (const [what, edit, message] of disagreeing) {
    it(`refuse a header whose ${what} disagrees with the descriptor`, () => {
      const { d, img } = withHeader(edit);
      expectRefusal(() => checkImage(d, img), 'BITSTREAM_HEADER', message);
    });
  }

  it('refuse a pipeline image whose stage list differs from descriptor.pipeline', () => {
    const spec = {
      ...baseSpec,
      id: 'p',
      function: 'pipeline' as const,
      pipeline: [{ op: 'xor' as const, arg: 0x5a }, { op: 'crc32c' as const }],
    };
    const good = buildBitstream(spec);
    expect(checkImage(good.descriptor, good.image).payloadBytes).toBe(8192);
    // Same descriptor fields, but the payload says xor 0x5b.
    const payload = Buffer.concat([
      pipelinePayload([{ op: 'xor', arg: 0x5b }, { op: 'crc32c' }]),
      Buffer.alloc(8192 - 24),
    ]);
    const bad = buildBitstream(spec, payload);
    bad.descriptor.pipeline = good.descriptor.pipeline;
    expectRefusal(() => checkImage(bad.descriptor, bad.image), 'BITSTREAM_PIPELINE', /stage list/);
  });

  it('build a header every field of which comes from the descriptor', () => {
    const h = parseImageHeader(image);
    const rebuilt = buildImage(
      {
        functionId: h.functionId,
        specMin: h.specMin,
        specMax: h.specMax,
        contexts: h.contexts,
        version: h.version,
        name: h.name,
      },
      image.subarray(128),
    );
    expect(rebuilt.equals(image)).toBe(true);
  });
});
