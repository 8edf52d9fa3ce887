// Resizes of allocations that hold grants, at the same time on one adapter. A resize closes the
// allocation's tenant windows before it changes the slice (ra-spec §18.6), and closing them awaits the
// agent: a plan made before that await could lose its extent to another resize meanwhile, and the
// reservation then failed with an internal STALE_PLAN, answered as 500 (found from outside over HTTP).
// Each resize now plans again after the windows are closed. Checked from the adapter's slice table.
import { describe, expect, it } from 'vitest';
import type { Allocation } from '../../src/common/model.js';
import { MiB, overlaps, readSliceTables, useEmbedded } from './helpers.js';

describe('resizes beside grants', () => {
  const ctx = useEmbedded(1, 64 * MiB);

  it('six concurrent grows of granted memory allocations all succeed, with no overlap in the registers', async () => {
    const grm = ctx.pool.grm;
    const allocations: Allocation[] = [];
    for (let i = 0; i < 6; i++)
      allocations.push(await grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 2 * MiB }] }));
    for (const a of allocations) await grm.grants('alice', a.id); // each now holds a tenant window

    const answers = await Promise.allSettled(
      allocations.map((a) => grm.resize('alice', a.id, { resource: 0, bytes: 8 * MiB })),
    );
    const refused = answers.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(refused).toEqual([]);

    const slices = readSliceTables(ctx.pool.modelDir, 1);
    expect(overlaps(slices)).toEqual([]);
    for (const a of allocations) {
      const p = grm.get('alice', a.id).resources[0]!.placements[0]!;
      const onDevice = slices.find((s) => s.entry === p.slice);
      expect(onDevice).toMatchObject({ kind: 'memory', base: p.offset, length: 8 * MiB });
      expect(p.bytes).toBe(8 * MiB);
    }
    for (const a of allocations) await grm.release('alice', a.id);
    expect(readSliceTables(ctx.pool.modelDir, 1)).toEqual([]);
  }, 60_000);
});
