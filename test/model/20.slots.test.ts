// Slot table and bitstream loading (§9, §13): good images load; every bad image is refused with
// its error and leaves the slot's registers byte-identical.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../../src/bitstream/image.js';
import { Img } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { MiB, randomKey, testImage, useModel } from '../helpers/model.js';

describe('slots', () => {
  const pool = useModel({ adapters: 1, slotBytes: 1 * MiB, configBytesPerSec: 20 * MiB });
  const slots = () => new Slots(pool.adapters[0]!);

  it('loads an image, reports progress and shows it in the slot table', async () => {
    const image = testImage('sha256', { payload: randomBytes(512 * 1024) });
    const seen: number[] = [];
    const t0 = Date.now();
    const info = await slots().load(0, image, { onProgress: (p) => seen.push(p) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15); // 512 KiB at 20 MiB/s = 25 ms of configuration
    expect(info).toMatchObject({
      state: 'ready',
      function: 'sha256',
      contexts: 4,
      contextsUsed: 0,
      imageName: 'sha256-test',
    });
    expect(info.imageHash).toBe(image.subarray(Img.PAYLOAD_SHA256, Img.PAYLOAD_SHA256 + 32).toString('hex'));
    expect(seen.at(-1)).toBe(1000);
  });

  const refusals: [string, () => Buffer, string][] = [
    [
      'bad magic',
      () => {
        const i = testImage('crc32c');
        i.writeUInt32LE(0xdeadbeef, Img.MAGIC);
        return i;
      },
      'IMG_MAGIC',
    ],
    [
      'nonzero reserved bytes',
      () => {
        const i = testImage('crc32c');
        i[Img.RESERVED] = 1;
        return i;
      },
      'IMG_MAGIC',
    ],
    ['truncated payload', () => testImage('crc32c').subarray(0, Img.HEADER_BYTES + 100), 'IMG_SIZE'],
    ['shorter than a header', () => testImage('crc32c').subarray(0, 64), 'IMG_SIZE'],
    ['too big for the slot', () => testImage('crc32c', { payload: Buffer.alloc(MiB + 4096) }), 'IMG_SIZE'],
    [
      'incompatible spec',
      () =>
        buildImage(
          { functionId: 3, specMin: 2 << 16, specMax: 3 << 16, contexts: 1, version: 1, name: 'x' },
          Buffer.alloc(64),
        ),
      'IMG_SPEC',
    ],
    [
      'unknown function',
      () =>
        buildImage(
          { functionId: 99, specMin: 1 << 16, specMax: 1 << 16, contexts: 1, version: 1, name: 'x' },
          Buffer.alloc(64),
        ),
      'IMG_FUNCTION',
    ],
    [
      'matmul is not loadable',
      () =>
        buildImage(
          { functionId: 5, specMin: 1 << 16, specMax: 1 << 16, contexts: 1, version: 1, name: 'x' },
          Buffer.alloc(64),
        ),
      'IMG_FUNCTION',
    ],
    ['too many contexts', () => testImage('crc32c', { contexts: 1000 }), 'IMG_FUNCTION'],
    [
      'wrong hash',
      () => {
        const i = testImage('crc32c');
        i[Img.HEADER_BYTES + 10]! ^= 0xff;
        return i;
      },
      'IMG_HASH',
    ],
    [
      'bad pipeline stages',
      () =>
        buildImage(
          { functionId: 4, specMin: 1 << 16, specMax: 1 << 16, contexts: 1, version: 1, name: 'p' },
          Buffer.alloc(64),
        ),
      'JOB_PARAMS',
    ],
  ];
  for (const [name, make, code] of refusals) {
    it(`refuses an image with ${name} (${code}) and leaves the slot as it was`, async () => {
      const before = [0, 1].map((i) => slots().snapshot(i));
      await expect(slots().load(0, make())).rejects.toMatchObject({ code });
      await expect(slots().load(1, make())).rejects.toMatchObject({ code });
      expect([0, 1].map((i) => slots().snapshot(i))).toEqual(before);
    });
  }

  it('refuses to reprogram a busy slot without force, and with force releases its contexts', async () => {
    const s = slots();
    const slices = new Slices(pool.adapters[0]!);
    await s.load(2, testImage('aes-256-gcm'));
    const key = randomKey();
    const entry = await slices.program({ kind: 'context', ownerKey: key, base: 0, length: 2, slot: 2 });
    expect(s.read(2)).toMatchObject({ state: 'busy', contextsUsed: 2 });
    const before = s.snapshot(2);
    await expect(s.load(2, testImage('crc32c'))).rejects.toMatchObject({ code: 'SLOT_BUSY' });
    expect(s.snapshot(2)).toEqual(before);
    await expect(s.unload(2)).rejects.toMatchObject({ code: 'SLOT_BUSY' });
    const info = await s.load(2, testImage('crc32c'), { force: true });
    expect(info).toMatchObject({ state: 'ready', function: 'crc32c', contextsUsed: 0 });
    expect(slices.read(entry).state).toBe('free');
  });

  it('unloads a ready slot', async () => {
    await slots().load(1, testImage('crc32c'));
    await slots().unload(1);
    expect(slots().read(1)).toMatchObject({ state: 'empty', function: undefined });
  });

  it('refuses a slot index that does not exist before touching a register', async () => {
    await expect(slots().load(99, testImage('crc32c'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
