// Races the driver must survive: a timed-out admin command followed by another, concurrent loads
// sharing the staging window, and more concurrent submitters than the ring holds.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { DmaController } from '../../src/driver/dma.js';
import { Cmd, Img, Load } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { MiB, randomKey, testImage, useModel } from '../helpers/model.js';

describe('races', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB, configBytesPerSec: 4 * MiB });
  const hashOf = (image: Buffer) =>
    image.subarray(Img.PAYLOAD_SHA256, Img.PAYLOAD_SHA256 + 32).toString('hex');

  it('a command after a timed-out one waits for it instead of stealing its completion', async () => {
    const a = pool.adapters[0]!;
    const image = testImage('sha256', { payload: randomBytes(MiB) }); // 250 ms of configuration
    a.writeStaging(image);
    await expect(
      a.command(Cmd.SLOT_LOAD, {
        args: [0, Load.SRC_STAGING, image.length, 0, 0, 0],
        timeoutMs: 30,
        what: 'slow load',
      }),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
    await a.nop(); // must not complete with the load's status, nor post over it
    const slot = new Slots(a).read(0);
    expect(slot).toMatchObject({ state: 'ready', function: 'sha256' });
    expect(slot.imageHash).toBe(hashOf(image));
  });

  it('concurrent loads from two clients each land their own image', async () => {
    const other = Adapter.open(pool.model.uri(0));
    try {
      const x = testImage('crc32c', { payload: randomBytes(200_000) });
      const y = testImage('aes-256-gcm', { payload: randomBytes(200_000) });
      await Promise.all([
        new Slots(pool.adapters[0]!).load(1, x),
        new Slots(other).load(2, y),
        new Slots(pool.adapters[0]!).load(3, y),
      ]);
      const slots = new Slots(other);
      expect([1, 2, 3].map((i) => slots.read(i).imageHash)).toEqual([hashOf(x), hashOf(y), hashOf(y)]);
    } finally {
      other.close();
    }
  });

  it('more concurrent submitters than ring entries all complete', async () => {
    const a = pool.adapters[0]!;
    const key = randomKey();
    const m = await new Slices(a).program({ kind: 'memory', ownerKey: key, base: 0, length: 2 * MiB });
    const dma = new DmaController(a);
    try {
      const n = a.identity.ringDepth * 3;
      const done = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          dma.submit({
            op: 'fill',
            ownerKey: key,
            dst: { adapter: 0, slice: m },
            dstOffset: i,
            bytes: 1,
            value: i & 0xff,
          }),
        ),
      );
      expect(done).toHaveLength(n);
    } finally {
      dma.close();
      await new Slices(a).release(m, key);
    }
  });
});
