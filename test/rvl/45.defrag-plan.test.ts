// The defragmentation planner (src/rvl/defrag.ts, issue 15 item 3), pure: which moves of movable
// memory slices open one extent for a request that fails only because free memory is fragmented,
// the cheapest (fewest bytes) within a budget. The cost is checked against a brute force over every
// aligned window; every plan is checked by applying its moves and planning the request from scratch.
import { describe, expect, it } from 'vitest';
import { type DefragNeed, planDefrag } from '../../src/rvl/defrag.js';
import { buildAvailability, type ExistingSlice, type Inventory, preferred } from '../../src/rvl/index.js';
import { Prng } from '../helpers/prng.js';
import { adapter, MiB, memory, pool } from './fixtures.js';

const contiguous = (bytes: number) => ({
  resources: [{ kind: 'memory' as const, bytes }],
  policy: { allowSplit: false },
});

const need = (bytes: number, over: Partial<DefragNeed> = {}): DefragNeed => ({
  request: contiguous(bytes),
  bytes,
  budgetBytes: Number.MAX_SAFE_INTEGER,
  movable: () => true,
  ...over,
});

/** The inventory with the plan's moves applied, checked for overlaps by buildAvailability. */
function afterMoves(
  inv: Inventory,
  moves: { from: ExistingSlice; to: { adapter: string; entry: number; base: number; length: number } }[],
): Inventory {
  const slices = inv.slices.map((s) => {
    const m = moves.find((x) => x.from.adapter === s.adapter && x.from.entry === s.entry);
    return m ? { ...s, adapter: m.to.adapter, entry: m.to.entry, base: m.to.base, length: m.to.length } : s;
  });
  return { adapters: inv.adapters, slices };
}

/** A (64 MiB) B (64) C (64) D (64) on a 256 MiB adapter, B and D released: 128 MiB free, 64 at most. */
const fragmented = () =>
  pool(
    [adapter('ra0', { memoryBytes: 256 * MiB })],
    [memory('ra0', 0, 0, 64 * MiB, 'A'), memory('ra0', 2, 128 * MiB, 64 * MiB, 'C')],
  );

describe('defragmentation plan', () => {
  it('a fragmented adapter: one 64 MiB move opens 128 MiB, and the request then plans', () => {
    const inv = fragmented();
    expect(preferred.plan(buildAvailability(inv), contiguous(128 * MiB)).ok).toBe(false);
    const r = planDefrag(inv, need(128 * MiB));
    if (!r.ok) throw new Error(r.message);
    expect(r.plan.movedBytes).toBe(64 * MiB);
    expect(r.plan.moves).toHaveLength(1);
    // Either A or C moves (each costs 64 MiB); it moves to the same adapter, outside the window.
    const [m] = r.plan.moves;
    expect(m!.to.adapter).toBe('ra0');
    expect(
      m!.to.base + m!.to.length <= r.plan.window.base ||
        m!.to.base >= r.plan.window.base + r.plan.window.length,
    ).toBe(true);
    expect(preferred.plan(buildAvailability(afterMoves(inv, r.plan.moves)), contiguous(128 * MiB)).ok).toBe(
      true,
    );
  });

  it('a budget below the cheapest moves refuses naming the budget and the bytes needed', () => {
    const r = planDefrag(fragmented(), need(128 * MiB, { budgetBytes: 32 * MiB }));
    expect(r).toMatchObject({ ok: false, why: 'OVER_BUDGET', cheapestBytes: 64 * MiB });
    if (r.ok) return;
    expect(r.message).toContain('budget of 33554432 bytes (32 MiB)');
    expect(r.message).toContain('67108864 bytes (64 MiB)');
  });

  it('pinned slices are never moved: with A and C pinned there is no room; with A pinned, C moves', () => {
    const inv = fragmented();
    expect(planDefrag(inv, need(128 * MiB, { movable: () => false }))).toMatchObject({
      ok: false,
      why: 'NO_ROOM',
    });
    const r = planDefrag(inv, need(128 * MiB, { movable: (s) => s.allocation !== 'A' }));
    if (!r.ok) throw new Error(r.message);
    expect(r.plan.moves.map((m) => m.from.allocation)).toEqual(['C']);
  });

  it('too little free memory in total is not fragmentation: no plan', () => {
    expect(planDefrag(fragmented(), need(192 * MiB))).toMatchObject({ ok: false, why: 'NO_ROOM' });
  });

  it('a full adapter is emptied onto another adapter of its server, never of another server', () => {
    const full = (server: string) =>
      pool(
        [adapter('ra0', { memoryBytes: 128 * MiB }), adapter('ra1', { memoryBytes: 128 * MiB, server })],
        [
          memory('ra0', 0, 0, 32 * MiB, 'A'),
          memory('ra0', 1, 64 * MiB, 32 * MiB, 'B'),
          memory('ra1', 0, 0, 32 * MiB, 'C'),
          memory('ra1', 1, 64 * MiB, 32 * MiB, 'D'),
        ],
      );
    // 64 MiB free per adapter in two 32 MiB holes. 96 MiB: empty [32, 128) of one adapter by moving
    // its 32 MiB slice B out; its own free memory outside that window is none (A sits in [0, 32)).
    const same = planDefrag(full('s1'), need(96 * MiB));
    if (!same.ok) throw new Error(same.message);
    expect(same.plan.movedBytes).toBe(32 * MiB);
    expect(same.plan.moves).toHaveLength(1);
    expect(same.plan.moves[0]!.to.adapter).not.toBe(same.plan.moves[0]!.from.adapter);
    const after = afterMoves(full('s1'), same.plan.moves);
    expect(preferred.plan(buildAvailability(after), contiguous(96 * MiB)).ok).toBe(true);
    // The other adapter on another server: a copy cannot go there (migration stays on one server).
    expect(planDefrag(full('s2'), need(96 * MiB))).toMatchObject({ ok: false, why: 'NO_ROOM' });
  });

  it('a split limited to one adapter (maxAdapters 1) is made to fit by moving a slice to the other adapter', () => {
    const inv = pool(
      [adapter('ra0', { memoryBytes: 128 * MiB }), adapter('ra1', { memoryBytes: 128 * MiB })],
      [
        memory('ra0', 0, 0, 32 * MiB, 'A'),
        memory('ra0', 1, 64 * MiB, 32 * MiB, 'B'),
        memory('ra1', 0, 0, 32 * MiB, 'C'),
        memory('ra1', 1, 64 * MiB, 32 * MiB, 'D'),
      ],
    );
    const request = { resources: [{ kind: 'memory' as const, bytes: 96 * MiB }], policy: { maxAdapters: 1 } };
    const before = preferred.plan(buildAvailability(inv), request);
    expect(before).toMatchObject({ ok: false, details: { why: 'MAX_ADAPTERS' } });
    const r = planDefrag(inv, need(96 * MiB, { request }));
    if (!r.ok) throw new Error(r.message);
    expect(r.plan.movedBytes).toBe(32 * MiB);
    expect(preferred.plan(buildAvailability(afterMoves(inv, r.plan.moves)), request).ok).toBe(true);
  });

  it('the cost is the least over every aligned window (brute force), and every plan plans the request', () => {
    const rng = new Prng(153);
    const align = 2 * MiB;
    for (let round = 0; round < 60; round++) {
      const units = rng.int(10, 24);
      const slices: ExistingSlice[] = [];
      let cursor = 0;
      let entry = 0;
      while (cursor < units) {
        const gap = rng.int(0, 2);
        const length = rng.int(1, 3);
        if (cursor + gap + length > units) break;
        slices.push(memory('ra0', entry++, (cursor + gap) * align, length * align, `a${entry}`));
        cursor += gap + length;
      }
      const wantUnits = rng.int(4, units);
      const bytes = wantUnits * align;
      // Spare adapters of the same server, each too small for the request but able to take any evicted
      // slice (at most 3 units): packing never limits, so the cheapest window is the reference.
      const spares = Array.from({ length: units }, (_, i) =>
        adapter(`rb${String(i).padStart(2, '0')}`, { memoryBytes: (wantUnits - 1) * align }),
      );
      const inv = pool([adapter('ra0', { memoryBytes: units * align }), ...spares], slices);
      let best = Number.POSITIVE_INFINITY;
      for (let start = 0; start + wantUnits <= units; start++) {
        const lo = start * align;
        const hi = lo + bytes;
        const cost = slices
          .filter((s) => s.base < hi && lo < s.base + s.length)
          .reduce((n, s) => n + s.length, 0);
        best = Math.min(best, cost);
      }
      if (best === 0) continue; // an extent is free already: nothing to defragment
      const r = planDefrag(inv, need(bytes));
      if (!r.ok) throw new Error(`round ${round}: ${r.message}`);
      expect(r.plan.movedBytes, `round ${round}`).toBe(best);
      expect(r.plan.adapter).toBe('ra0');
      const after = afterMoves(inv, r.plan.moves);
      expect(preferred.plan(buildAvailability(after), contiguous(bytes)).ok).toBe(true);
    }
  });
});
