// Preemption for a NEW request on the embedded pool (issue 15, "priorities and preemption"): a request
// of higher priority that does not fit may shrink preemptible elastic allocations of lower priority
// (never below their min) or reclaim preemptible ones, only when a what-if plan shows that makes it
// fit; the victims' tenants read an event. Sizes are read from the adapter's slice table (registers).
import { afterEach, describe, expect, it } from 'vitest';
import type { Allocation } from '../../src/grm/types.js';
import { readSliceTables, useEmbedded } from '../grm/helpers.js';

// One adapter of 16 compute units (the model's default).
const elastic = (units: number, min: number, max = 16) => ({
  resources: [{ kind: 'compute', units }],
  policy: {
    priority: 0,
    preemptible: true,
    elastic: { compute: { min, max, targetUtilization: 0.7, cooldownMs: 60_000 } },
  },
});
const plain = (units: number, policy: Record<string, unknown> = {}) => ({
  resources: [{ kind: 'compute', units }],
  policy: { allowSplit: false, ...policy },
});

describe('preemption on a new request', () => {
  const ctx = useEmbedded(1);
  const grm = () => ctx.pool.grm;

  afterEach(async () => {
    for (const tenant of ['alice', 'bob', 'carol'])
      for (const a of grm().list(tenant))
        await grm()
          .release(tenant, a.id)
          .catch(() => undefined);
  });

  /** The compute units of the allocation's slice in the registers (0: no slice there any more). */
  const units = (a: Allocation) => {
    const p = a.resources[0]!.placements[0]!;
    return (
      readSliceTables(ctx.pool.modelDir, 1).find((s) => s.entry === p.slice && s.kind === 'compute')
        ?.length ?? 0
    );
  };
  const computeInUse = () =>
    readSliceTables(ctx.pool.modelDir, 1)
      .filter((s) => s.kind === 'compute')
      .reduce((n, s) => n + s.length, 0);

  it('shrinks a lower-priority elastic allocation only as far as needed; its tenant reads the event', async () => {
    const victim = await grm().allocate('bob', elastic(12, 2)); // units 0-11; 12-15 free
    const high = await grm().allocate('alice', plain(8, { priority: 5 }));
    expect(units(high)).toBe(8);
    expect(units(victim)).toBe(8); // 4 of its 10 spare, next to the 4 free: not down to its min of 2
    expect(computeInUse()).toBe(16);
    const events = grm().allocationEvents('bob', victim.id);
    expect(events).toMatchObject([{ action: 'preempted-shrink', resource: 0, from: 12, to: 8 }]);
    expect(events[0]!.detail).toMatch(/priority 5/);
    // Another tenant's allocation does not exist for alice, its events included.
    expect(() => grm().allocationEvents('alice', victim.id)).toThrow(/does not exist/);
  });

  it('plans on contiguous room: the units freed must sit next to free ones', async () => {
    const victim = await grm().allocate('bob', elastic(12, 4)); // units 0-11
    await grm().allocate('carol', plain(2)); // 12-13; 14-15 free, not next to the victim's tail
    const high = await grm().allocate('alice', plain(8, { priority: 5 }));
    // Shrinking to 6 would free 8 units in two pieces (6-11, 14-15); 8 contiguous need it at 4.
    expect(units(high)).toBe(8);
    expect(units(victim)).toBe(4);
    expect(grm().allocationEvents('bob', victim.id)).toMatchObject([{ action: 'preempted-shrink', to: 4 }]);
  });

  it('never below min: a shrink stops at the min; needing more, it reclaims instead', async () => {
    const victim = await grm().allocate('bob', elastic(12, 6));
    // 4 free + 6 spare = 10: shrinking to exactly its min is enough.
    const first = await grm().allocate('alice', plain(10, { priority: 5 }));
    expect(units(victim)).toBe(6);
    await grm().release('alice', first.id);
    // 10 free now, 0 spare: 11 units only fit if the victim goes. It is reclaimed, not shrunk to 5.
    const second = await grm().allocate('alice', plain(11, { priority: 5 }));
    expect(units(second)).toBe(11);
    expect(grm().list('bob')).toEqual([]);
    expect(
      readSliceTables(ctx.pool.modelDir, 1)
        .filter((s) => s.kind === 'compute')
        .map((s) => s.length),
    ).toEqual([11]);
    expect(
      grm()
        .allocationEvents('bob', victim.id)
        .map((e) => [e.action, e.to]),
    ).toEqual([
      ['preempted-shrink', 6],
      ['preempted-reclaim', undefined],
    ]);
  });

  it('non-preemptible untouched, whatever its priority: the request fails and nothing changes', async () => {
    const held = await grm().allocate('bob', {
      resources: [{ kind: 'compute', units: 12 }],
      policy: { elastic: { compute: { min: 1, max: 16, targetUtilization: 0.7, cooldownMs: 60_000 } } },
    });
    const before = readSliceTables(ctx.pool.modelDir, 1);
    await expect(grm().allocate('alice', plain(8, { priority: 9 }))).rejects.toThrow(/nothing was preempted/);
    expect(readSliceTables(ctx.pool.modelDir, 1)).toEqual(before);
    expect(units(held)).toBe(12);
    expect(grm().allocationEvents('bob', held.id)).toEqual([]);
  });

  it('lower priority only: an equal priority is untouched, a higher one preempts', async () => {
    const victim = await grm().allocate('bob', {
      ...elastic(12, 4),
      policy: { ...elastic(12, 4).policy, priority: 5 },
    });
    const before = readSliceTables(ctx.pool.modelDir, 1);
    await expect(grm().allocate('alice', plain(8, { priority: 5 }))).rejects.toMatchObject({
      code: 'RESOURCE_UNAVAILABLE',
    });
    expect(readSliceTables(ctx.pool.modelDir, 1)).toEqual(before);
    expect(grm().allocationEvents('bob', victim.id)).toEqual([]);
    // Priority 0 (the default) never preempts anything.
    await expect(grm().allocate('alice', plain(8))).rejects.toMatchObject({ code: 'RESOURCE_UNAVAILABLE' });
    const higher = await grm().allocate('alice', plain(8, { priority: 6 }));
    expect(units(higher)).toBe(8);
    expect(units(victim)).toBe(8);
  });

  it('plans first: when preempting everything allowed would not make room, nothing is touched', async () => {
    const fixed = await grm().allocate('carol', plain(8)); // not preemptible
    const victim = await grm().allocate('bob', elastic(6, 2));
    const before = readSliceTables(ctx.pool.modelDir, 1);
    // 2 free + the victim's 6 = 8 < 10.
    await expect(grm().allocate('alice', plain(10, { priority: 9 }))).rejects.toThrow(
      /nothing was preempted/,
    );
    expect(readSliceTables(ctx.pool.modelDir, 1)).toEqual(before);
    expect(units(victim)).toBe(6);
    expect(units(fixed)).toBe(8);
    expect(grm().allocationEvents('bob', victim.id)).toEqual([]);
  });
});
