// Issue 8 item 11 (second half): a large migration copies its memory outside the GRM's mutex, with the
// target slice reserved, so unrelated allocations do not wait behind the copy. Ordering, not timing:
// an allocation started after the migration resolves before it. A release of the migrating
// allocation during the copy wins, and leaves no slice behind on any adapter (read from registers).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { DmaController } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { MiB, overlaps, readSliceTables, useEmbedded } from './helpers.js';

const GiB = 1024 * MiB;
const MIGRATED_BYTES = 512 * MiB;

describe('migration outside the mutex', () => {
  const ctx = useEmbedded(2, GiB);
  const grm = () => ctx.pool.grm;
  const tables = () => readSliceTables(ctx.pool.modelDir, 2);
  const port = (id: string) => Number(id.split('/ra')[1]);
  const otherAdapter = (id: string) => `${id.slice(0, id.lastIndexOf('/'))}/ra${1 - port(id)}`;

  /** Copies between a host buffer and a slice as its owner would (DMA through adapter ra0). */
  async function withDma<T>(fn: (dma: DmaController, host: HostBuffer) => Promise<T>): Promise<T> {
    const dev = Adapter.open(`shm://${ctx.pool.modelDir}/ra0.sock`);
    const dma = new DmaController(dev);
    const host = await HostBuffer.create(dev, MiB);
    try {
      return await fn(dma, host);
    } finally {
      await host.close();
      dma.close();
      dev.close();
    }
  }

  it('an unrelated allocation completes before a 512 MiB migration does; the contents move intact', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'memory', bytes: MIGRATED_BYTES }],
      policy: { allowSplit: false },
    });
    const from = a.resources[0]!.placements[0]!;
    const key = BigInt(`0x${grm().allocations.get(a.id)!.ownerKey}`);
    // A pattern in the first and the last MiB of the slice.
    const head = randomBytes(MiB);
    const tail = randomBytes(MiB);
    await withDma(async (dma, host) => {
      for (const [bytes, offset] of [
        [head, 0],
        [tail, MIGRATED_BYTES - MiB],
      ] as const) {
        host.bytes.set(bytes);
        await dma.submit({
          op: 'copy',
          ownerKey: key,
          src: { host: host.handle },
          srcOffset: 0,
          dst: { adapter: port(from.adapter), slice: from.slice },
          dstOffset: offset,
          bytes: MiB,
        });
      }
    });

    const order: string[] = [];
    const migration = grm()
      .migrate('alice', a.id, 0, [otherAdapter(from.adapter)])
      .then((moved) => {
        order.push('migration');
        return moved;
      });
    // Queued right behind the migration's reservation step.
    const unrelated = grm()
      .allocate('bob', { resources: [{ kind: 'memory', bytes: 8 * MiB }] })
      .then((b) => {
        order.push('unrelated allocation');
        return b;
      });
    const [moved, b] = await Promise.all([migration, unrelated]);
    expect(order).toEqual(['unrelated allocation', 'migration']);

    const to = moved.resources[0]!.placements[0]!;
    expect(to.adapter).toBe(otherAdapter(from.adapter));
    expect(overlaps(tables())).toEqual([]);
    // Exactly alice's new slice and bob's, by the registers.
    expect(
      tables()
        .map((s) => `ra${s.adapter}#${s.entry}`)
        .sort(),
    ).toEqual(
      [
        `ra${port(to.adapter)}#${to.slice}`,
        `ra${port(b.resources[0]!.placements[0]!.adapter)}#${b.resources[0]!.placements[0]!.slice}`,
      ].sort(),
    );
    await withDma(async (dma, host) => {
      for (const [bytes, offset] of [
        [head, 0],
        [tail, MIGRATED_BYTES - MiB],
      ] as const) {
        host.bytes.fill(0);
        await dma.submit({
          op: 'copy',
          ownerKey: key,
          src: { adapter: port(to.adapter), slice: to.slice },
          srcOffset: offset,
          dst: { host: host.handle },
          dstOffset: 0,
          bytes: MiB,
        });
        expect(Buffer.from(host.bytes).equals(bytes)).toBe(true);
      }
    });
    await grm().release('alice', a.id);
    await grm().release('bob', b.id);
    expect(tables()).toEqual([]);
  });

  it('a release during the copy wins: the migration reports it and no slice is left anywhere', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'memory', bytes: MIGRATED_BYTES }],
      policy: { allowSplit: false },
    });
    const from = a.resources[0]!.placements[0]!;
    const order: string[] = [];
    const migration = grm()
      .migrate('alice', a.id, 0, [otherAdapter(from.adapter)])
      .then(
        () => order.push('migration succeeded'),
        (err: { code?: string; message: string }) => {
          order.push('migration refused');
          return err;
        },
      );
    const release = grm()
      .release('alice', a.id)
      .then(() => order.push('released'));
    const [err] = await Promise.all([migration, release]);
    expect(order).toEqual(['released', 'migration refused']);
    expect(err).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/released while its memory was being migrated/),
    });
    expect(grm().list('alice')).toEqual([]);
    expect(tables()).toEqual([]);
  });

  it('a second resize or migration of the same allocation while one copies is a conflict', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'memory', bytes: MIGRATED_BYTES }],
      policy: { allowSplit: false },
    });
    const from = a.resources[0]!.placements[0]!;
    const migration = grm().migrate('alice', a.id, 0, [otherAdapter(from.adapter)]);
    const second = grm().resize('alice', a.id, { resource: 0, bytes: MIGRATED_BYTES / 2 });
    await expect(second).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/being migrated/),
    });
    const moved = await migration;
    expect(moved.resources[0]!.placements[0]!.adapter).toBe(otherAdapter(from.adapter));
    await grm().release('alice', a.id);
    expect(tables()).toEqual([]);
  });
});
