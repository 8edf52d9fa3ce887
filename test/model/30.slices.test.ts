// Slice table (§10): placement rules, owner keys, the state machine, scrubbing on release.
import { describe, expect, it } from 'vitest';
import { DmaController } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { MiB, randomKey, testImage, useModel } from '../helpers/model.js';

describe('slices', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB, computeUnits: 4 });
  const slices = () => new Slices(pool.adapters[0]!);

  it('walks free -> reserved -> active -> draining -> free', async () => {
    const s = slices();
    const key = randomKey();
    await s.reserve(0, { kind: 'memory', ownerKey: key, base: 0, length: 2 * MiB });
    expect(s.read(0)).toMatchObject({
      state: 'reserved',
      kind: 'memory',
      ownerKey: key,
      base: 0,
      length: 2 * MiB,
    });
    await s.activate(0, key);
    expect(s.read(0).state).toBe('active');
    await s.drain(0, key);
    expect(s.read(0).state).toBe('draining');
    await s.release(0, key);
    expect(s.read(0)).toMatchObject({ state: 'free', kind: 'none', ownerKey: 0n });
  });

  it('refuses misplaced, overlapping and foreign-key operations and changes nothing', async () => {
    const s = slices();
    const key = randomKey();
    await s.reserve(1, { kind: 'memory', ownerKey: key, base: 4 * MiB, length: 4 * MiB });
    const table = () => s.list().map((e) => ({ ...e }));
    const before = table();
    await expect(
      s.reserve(2, { kind: 'memory', ownerKey: key, base: 6 * MiB, length: 4 * MiB }),
    ).rejects.toMatchObject({ code: 'OVERLAP' });
    await expect(
      s.reserve(2, { kind: 'memory', ownerKey: key, base: 1000, length: 2 * MiB }),
    ).rejects.toMatchObject({ code: 'ALIGN' });
    await expect(
      s.reserve(2, { kind: 'memory', ownerKey: key, base: 0, length: 128 * MiB }),
    ).rejects.toMatchObject({ code: 'NO_RESOURCE' });
    await expect(
      s.reserve(1, { kind: 'memory', ownerKey: key, base: 32 * MiB, length: 2 * MiB }),
    ).rejects.toMatchObject({ code: 'SLICE_STATE' });
    await expect(s.reserve(2, { kind: 'compute', ownerKey: key, base: 3, length: 2 })).rejects.toMatchObject({
      code: 'NO_RESOURCE',
    });
    await expect(
      s.reserve(2, { kind: 'context', ownerKey: key, base: 0, length: 1, slot: 0 }),
    ).rejects.toMatchObject({ code: 'SLOT_STATE' });
    await expect(s.activate(1, key ^ 2n)).rejects.toMatchObject({ code: 'OWNER_KEY' });
    await expect(s.release(1, key ^ 2n)).rejects.toMatchObject({ code: 'OWNER_KEY' });
    await expect(s.drain(1, key)).rejects.toMatchObject({ code: 'SLICE_STATE' });
    expect(table()).toEqual(before);
    await s.release(1, key);
  });

  it('keeps compute units and contexts exclusive', async () => {
    const s = slices();
    const k1 = randomKey();
    const k2 = randomKey();
    const a = await s.program({ kind: 'compute', ownerKey: k1, base: 0, length: 2 });
    await expect(s.program({ kind: 'compute', ownerKey: k2, base: 1, length: 2 })).rejects.toMatchObject({
      code: 'OVERLAP',
    });
    const b = await s.program({ kind: 'compute', ownerKey: k2, base: 2, length: 2 });
    await new Slots(pool.adapters[0]!).load(0, testImage('crc32c', { contexts: 2 }));
    const c = await s.program({ kind: 'context', ownerKey: k1, base: 0, length: 2, slot: 0 });
    await expect(
      s.program({ kind: 'context', ownerKey: k2, base: 1, length: 1, slot: 0 }),
    ).rejects.toMatchObject({ code: 'OVERLAP' });
    for (const [i, k] of [
      [a, k1],
      [b, k2],
      [c, k1],
    ] as const)
      await s.release(i, k);
    expect(new Slots(pool.adapters[0]!).read(0)).toMatchObject({ state: 'ready', contextsUsed: 0 });
  });

  it('grows and shrinks a memory slice in place, refusing to grow into a neighbour', async () => {
    const s = slices();
    const key = randomKey();
    const a = await s.program({ kind: 'memory', ownerKey: key, base: 16 * MiB, length: 2 * MiB });
    const b = await s.program({ kind: 'memory', ownerKey: key, base: 22 * MiB, length: 2 * MiB });
    await s.resize(a, key, 6 * MiB);
    expect(s.read(a).length).toBe(6 * MiB);
    await expect(s.resize(a, key, 8 * MiB)).rejects.toMatchObject({ code: 'OVERLAP' });
    await s.resize(a, key, 2 * MiB);
    expect(s.read(a).length).toBe(2 * MiB);
    await s.release(a, key);
    await s.release(b, key);
  });

  it('scrubs memory on release: the next owner reads zeros', async () => {
    const a = pool.adapters[0]!;
    const s = slices();
    const dma = new DmaController(a);
    const host = await HostBuffer.create(a, 4096);
    try {
      const k1 = randomKey();
      const e1 = await s.program({ kind: 'memory', ownerKey: k1, base: 40 * MiB, length: 2 * MiB });
      host.bytes.fill(0xab);
      await dma.submit({
        op: 'copy',
        ownerKey: k1,
        src: { host: host.handle },
        srcOffset: 0,
        dst: { adapter: 0, slice: e1 },
        dstOffset: 100,
        bytes: 4096,
      });
      await s.release(e1, k1);
      const k2 = randomKey();
      const e2 = await s.program({ kind: 'memory', ownerKey: k2, base: 40 * MiB, length: 2 * MiB });
      host.bytes.fill(0x11);
      await dma.submit({
        op: 'copy',
        ownerKey: k2,
        src: { adapter: 0, slice: e2 },
        srcOffset: 100,
        dst: { host: host.handle },
        dstOffset: 0,
        bytes: 4096,
      });
      expect(host.bytes.every((b) => b === 0)).toBe(true);
      await s.release(e2, k2);
    } finally {
      await host.close();
      dma.close();
    }
  });
});
