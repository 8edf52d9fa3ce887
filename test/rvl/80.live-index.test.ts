// The live index's deltas, one behaviour each: plans leave it unchanged, reservations hold capacity
// until commit or rollback, stale plans are refused, taints and agent reports change what is planned.
import { describe, expect, it, vi } from 'vitest';
import { AvailabilityIndex, buildAvailability, type Inventory, preferred } from '../../src/rvl/index.js';
import { adapter, GiB, loaded, MiB, memory, pool } from './fixtures.js';

const aes = 'aes-256-gcm';
const mem = (bytes: number, policy?: object) => ({ resources: [{ kind: 'memory', bytes }], policy });
const stalePlan = expect.objectContaining({ name: 'RvlError', code: 'STALE_PLAN' });

function twoAdapters(): Inventory {
  return pool(
    [adapter('a0', { server: 's1' }), adapter('a1', { server: 's2' })],
    [memory('a0', 0, 0, 2 * GiB)],
  );
}

function planned(index: AvailabilityIndex, request: unknown) {
  const r = index.plan(request);
  if (!r.ok) throw new Error(r.details.message);
  return r.plan;
}

describe('live index', () => {
  it('planning leaves the index as it was, also for requests of several resources', () => {
    const index = AvailabilityIndex.fromInventory(twoAdapters());
    const before = index.toInventory();
    const request = {
      resources: [
        { kind: 'memory', bytes: 3 * GiB },
        { kind: 'memory', bytes: 3 * GiB },
        { kind: 'accelerator', function: aes },
        { kind: 'compute', units: 20 },
      ],
    };
    const plan = planned(index, request);
    expect(plan).toEqual(
      (preferred.plan(buildAvailability(twoAdapters()), request) as { plan: unknown }).plan,
    );
    expect(index.toInventory()).toEqual(before);
    expect(index.differences()).toEqual([]);
  });

  it('a reservation holds its capacity: the same plan again is refused with STALE_PLAN and changes nothing', () => {
    const index = AvailabilityIndex.fromInventory(twoAdapters());
    const plan = planned(index, mem(6 * GiB));
    const other = planned(index, mem(6 * GiB));
    expect(other).toEqual(plan);
    index.reserve(plan, 'x');
    const held = index.toInventory();
    expect(() => index.reserve(other, 'y')).toThrow(stalePlan);
    expect(index.toInventory()).toEqual(held);
    // Planned again, the second request goes elsewhere.
    expect(planned(index, mem(6 * GiB)).placements[0]).toMatchObject({ adapter: 'a1' });
  });

  it('rollback gives the capacity back and unloads the engine its plan loaded', () => {
    const index = AvailabilityIndex.fromInventory(pool([adapter('a0')]));
    const before = index.toInventory();
    const plan = planned(index, { resources: [{ kind: 'accelerator', function: aes }] });
    expect(plan.placements[0]).toMatchObject({ slot: 0, loadBitstream: { function: aes } });
    const r = index.reserve(plan, 'x');
    expect(index.adapter('a0')!.slots[0]).toMatchObject({ function: aes, empty: false });
    r.rollback();
    expect(index.toInventory()).toEqual(before);
    expect(index.adapter('a0')!.slots[0]).toMatchObject({ empty: true });
    expect(() => r.commit()).toThrow(stalePlan);
  });

  it('release frees committed slices; a held one must be committed or rolled back first', () => {
    const index = AvailabilityIndex.fromInventory(twoAdapters());
    const r = index.reserve(planned(index, mem(GiB, { sameServer: 's1' })), 'x');
    expect(index.release('x')).toBe(0);
    expect(() => index.releaseSlice({ adapter: 'a0', entry: 1 })).toThrow(/held by a reservation/);
    r.commit();
    expect(index.adapter('a0')!.freeEntries[0]).toBe(2);
    expect(index.release('x')).toBe(1);
    expect(index.adapter('a0')!.freeEntries[0]).toBe(1);
    expect(index.toInventory()).toEqual(AvailabilityIndex.fromInventory(twoAdapters()).toInventory());
  });

  it('an unhealthy adapter receives nothing; healthy again, it is chosen again', () => {
    const index = AvailabilityIndex.fromInventory(twoAdapters());
    index.setHealth('a0', 'unhealthy');
    expect(planned(index, mem(GiB, { sameServer: 's1' })).placements[0]).toMatchObject({ adapter: 'a1' });
    index.setHealth('a0', 'degraded');
    expect(planned(index, mem(GiB, { sameServer: 's1' })).placements[0]).toMatchObject({ adapter: 'a1' });
    expect(planned(index, mem(GiB, { sameServer: 's1', allowDegraded: true })).placements[0]).toMatchObject({
      adapter: 'a0',
    });
    index.setHealth('a0', 'healthy');
    expect(planned(index, mem(GiB, { sameServer: 's1' })).placements[0]).toMatchObject({ adapter: 'a0' });
    expect(() => index.setHealth('zz', 'healthy')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_ADAPTER' }),
    );
    expect(index.differences()).toEqual([]);
  });

  it('an agent report with a slice the GRM did not make: returned as foreign, and planned around', () => {
    const inv = pool([adapter('a0', { memoryBytes: 16 * MiB })]);
    const index = AvailabilityIndex.fromInventory(inv);
    const foreign = memory('a0', 5, 3 * MiB, MiB, 'orphan:ab');
    const result = index.applyAdapterReport(inv.adapters[0]!, [foreign]);
    expect(result).toEqual({ foreign: [foreign], vanished: [], lost: [] });
    // Free is [0, 3) and [4, 16) MiB; on 2 MiB boundaries [0, 2) and [4, 16), so [2, 3) is slack.
    expect(planned(index, mem(4 * MiB)).placements[0]).toMatchObject({ base: 4 * MiB, entry: 0 });
    expect(index.adapter('a0')!.memorySlackBytes).toBe(MiB);
    expect(index.release('orphan:ab')).toBe(1);
    expect(index.adapter('a0')!.freeMemory).toEqual([{ base: 0, length: 16 * MiB }]);
  });

  it('a report that shows something else where a held slice is loses the reservation', () => {
    const inv = pool([adapter('a0', { memoryBytes: 16 * MiB })]);
    const index = AvailabilityIndex.fromInventory(inv);
    const r = index.reserve(planned(index, mem(4 * MiB)), 'x');
    const intruder = memory('a0', 0, 2 * MiB, 2 * MiB, 'orphan:cd');
    const result = index.applyAdapterReport(inv.adapters[0]!, [intruder]);
    expect(result.lost).toEqual([r]);
    expect(() => r.commit()).toThrow(/lost .*roll it back and plan again/);
    r.rollback();
    expect(index.toInventory().slices).toEqual([intruder]);
    expect(index.differences()).toEqual([]);
  });

  it('a lost reservation whose allocation is durable keeps what the index still holds taken', () => {
    const inv = pool([adapter('a0', { memoryBytes: 16 * MiB }), adapter('a1', { memoryBytes: 16 * MiB })]);
    const index = AvailabilityIndex.fromInventory(inv);
    const r = index.reserve(planned(index, mem(24 * MiB)), 'x'); // 16 MiB on one adapter, 8 on the other
    const [first, second] = r.slices;
    expect(second!.adapter).not.toBe(first!.adapter);
    const intruder = memory(first!.adapter, 9, 0, 2 * MiB, 'orphan:cd');
    const lostOn = inv.adapters.find((a) => a.id === first!.adapter)!;
    expect(index.applyAdapterReport(lostOn, [intruder]).lost).toEqual([r]);
    r.commitDespiteLoss();
    expect(r.state).toBe('committed');
    // The slice on the other adapter is programmed: the index must not offer its memory again.
    expect(index.toInventory().slices).toEqual(expect.arrayContaining([{ ...second!, allocation: 'x' }]));
    expect(index.differences()).toEqual([]);
  });

  it('a report read before a held load finished keeps every reservation that shares the slot, whatever the entry order', () => {
    // W loads aes into the empty slot 0 (entry 1, since entry 0 is taken); then entry 0 is freed and
    // X, planned on W's engine, takes it. A report read before the load shows the slot empty and no
    // slice: X's slice comes first in entry order, yet W's planned load is what makes it fit.
    const inv = pool([adapter('a0')], [memory('a0', 0, 0, 2 * MiB, 'z')]);
    const index = AvailabilityIndex.fromInventory(inv);
    const accel = { resources: [{ kind: 'accelerator', function: aes }] };
    const w = index.reserve(planned(index, accel), 'w');
    expect(w.slices[0]).toMatchObject({ entry: 1, slot: 0 });
    index.release('z');
    const xPlan = planned(index, accel);
    expect(xPlan.placements[0]).toMatchObject({ entry: 0, slot: 0 });
    expect(xPlan.placements[0]!.loadBitstream).toBeUndefined();
    const x = index.reserve(xPlan, 'x');
    const held = index.toInventory();
    const result = index.applyAdapterReport(inv.adapters[0]!, []);
    expect(result.lost).toEqual([]);
    expect(index.toInventory()).toEqual(held);
    x.commit();
    w.commit();
    expect(index.differences()).toEqual([]);
  });

  it('load-aware tie-break: within a tier an adapter that is not busy is taken first; all busy, the best fit', () => {
    const inv = pool(
      [adapter('a0'), adapter('a1'), adapter('a2', { slots: [loaded(0, aes)] })],
      [memory('a0', 0, 0, 2 * GiB)],
    );
    const index = AvailabilityIndex.fromInventory(inv);
    const on = (request: object, busy?: string[]) =>
      (
        index.plan(request, preferred, busy ? { busy: (id) => busy.includes(id) } : {}) as {
          plan: { placements: { adapter: string; loadBitstream?: unknown }[] };
        }
      ).plan.placements[0]!;
    // Best fit: a0's 6 GiB extent; a0 busy, the next best (a1, id order among the whole ones).
    expect(on(mem(MiB)).adapter).toBe('a0');
    expect(on(mem(MiB), ['a0']).adapter).toBe('a1');
    expect(on(mem(MiB), ['a0', 'a1', 'a2'])).toMatchObject({ adapter: 'a0' });
    expect(on({ resources: [{ kind: 'compute', units: 1 }] }, ['a0']).adapter).toBe('a1');
    // The hint never trades tiers: a busy adapter with the engine loaded beats loading it elsewhere.
    const accel = { resources: [{ kind: 'accelerator', function: aes }] };
    expect(on(accel, ['a2'])).toMatchObject({ adapter: 'a2' });
    expect(on(accel, ['a2']).loadBitstream).toBeUndefined();
    // Plans with the hint change nothing in the index.
    expect(index.differences()).toEqual([]);
  });

  it('a report of an unknown adapter adds it, in id order', () => {
    const index = AvailabilityIndex.fromInventory(pool([adapter('a2')]));
    index.applyAdapterReport(adapter('a1', { slots: [loaded(0, aes)] }), []);
    expect(index.view().adapters.map((a) => a.id)).toEqual(['a1', 'a2']);
    expect(
      planned(index, { resources: [{ kind: 'accelerator', function: aes }] }).placements[0],
    ).toMatchObject({
      adapter: 'a1',
      slot: 0,
    });
    expect(index.differences()).toEqual([]);
  });

  it('a report listing slices of another adapter is refused and changes nothing', () => {
    const index = AvailabilityIndex.fromInventory(twoAdapters());
    const before = index.toInventory();
    expect(() => index.applyAdapterReport(adapter('a1'), [memory('a0', 3, 0, GiB)])).toThrow(
      expect.objectContaining({ code: 'INVALID_INVENTORY' }),
    );
    expect(index.toInventory()).toEqual(before);
  });

  it('plans that fit one extent or slot touch the candidates, not the pool', () => {
    const adapters = Array.from({ length: 2000 }, (_, i) =>
      adapter(`a${String(i).padStart(4, '0')}`, { server: `s${i >> 2}` }),
    );
    const index = AvailabilityIndex.fromInventory(pool(adapters));
    const walk = vi.spyOn(index, 'view');
    for (const request of [
      mem(3 * GiB, { sameServer: 's17' }),
      { resources: [{ kind: 'compute', units: 4 }] },
      { resources: [{ kind: 'accelerator', function: aes, contexts: 2 }], policy: { sameServer: 's3' } },
      { resources: [{ kind: 'logic', bitstream: 'tenant' }] },
    ]) {
      index.reserve(planned(index, request), 'x').commit();
    }
    expect(walk).not.toHaveBeenCalled();
    // A request no single extent holds is a combination: that one does walk the pool.
    planned(index, mem(12 * GiB));
    expect(walk).toHaveBeenCalled();
  });
});
