// The events the real GRM records (embedded pool) for the dashboard's log: one per change, in order,
// naming the allocation, its tenant and the adapters its slices are on — the adapters as the
// registers show them, not as the GRM says.
import { describe, expect, it } from 'vitest';
import { reallocateOnce } from '../../src/grm/reallocator.js';
import { MiB, readSliceTables, useEmbedded } from '../grm/helpers.js';

describe('GRM events', () => {
  const ctx = useEmbedded(2, 64 * MiB);
  const grm = () => ctx.pool.grm;

  it('records allocated, resized, migrated, released and reclaimed, in order, with tenant and adapters', async () => {
    const since = grm().events.recent().at(-1)?.seq ?? 0;
    const kept = await grm().allocate('alice', { resources: [{ kind: 'memory', bytes: 4 * MiB }] });
    const onAdapter = (index: number) =>
      `${kept.resources[0]!.placements[0]!.adapter.replace(/ra\d+$/, '')}ra${index}`;
    const registers = readSliceTables(ctx.pool.modelDir, 2);
    expect(registers).toHaveLength(1);
    expect(kept.resources[0]!.placements[0]!.adapter).toBe(onAdapter(registers[0]!.adapter));

    await grm().resize('alice', kept.id, { resource: 0, bytes: 8 * MiB });
    const other = onAdapter(1 - registers[0]!.adapter);
    await grm().migrate('alice', kept.id, 0, [other]);
    expect(readSliceTables(ctx.pool.modelDir, 2).map((s) => s.adapter)).toEqual([1 - registers[0]!.adapter]);
    await grm().release('alice', kept.id);

    const idle = await grm().allocate('bob', {
      resources: [{ kind: 'compute', units: 1 }],
      policy: { idleReclaimMs: 100 },
    });
    await new Promise((resolve) => setTimeout(resolve, 250));
    await grm().exclusive(() => reallocateOnce(grm()));
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual([]);

    const events = grm()
      .events.recent()
      .filter((e) => e.seq > since);
    expect(events.map((e) => [e.kind, e.allocation, e.tenant])).toEqual([
      ['allocated', kept.id, 'alice'],
      ['resized', kept.id, 'alice'],
      ['migrated', kept.id, 'alice'],
      ['released', kept.id, 'alice'],
      ['allocated', idle.id, 'bob'],
      ['reclaimed', idle.id, 'bob'],
    ]);
    expect(events[2]!.adapters).toEqual([other]);
    expect(events[3]!.adapters).toEqual([other]);
    expect(events[5]!.detail).toMatch(/idle for more than 100 ms/);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => since + 1 + i));
  });

  it('records nothing for a refused request', async () => {
    const before = grm().events.recent().length;
    await expect(
      grm().allocate('alice', { resources: [{ kind: 'memory', bytes: 2 ** 40 }] }),
    ).rejects.toThrow();
    await expect(grm().release('alice', 'a-does-not-exist')).rejects.toThrow();
    expect(grm().events.recent()).toHaveLength(before);
  });
});
