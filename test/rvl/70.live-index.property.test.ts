// Property test of the live availability index: random pools and random operation sequences (plans
// and reservations, commits, rollbacks, releases, grows, shrinks, migrations, health changes, agent
// reports with slices the GRM did not make), seeded. A model inventory is kept beside the index with
// the pure functions of apply.ts; after every step the live index must equal the index rebuilt from
// scratch from the model (buildAvailability, the oracle), its ordered lists must match its state, and
// every plan it makes must be the from-scratch strategy's plan on the same state.
import { describe, expect, it } from 'vitest';
import {
  type AdapterAvailability,
  type AdapterHealth,
  AvailabilityIndex,
  applyPlan,
  applyResize,
  buildAvailability,
  type ExistingSlice,
  type Inventory,
  type Plan,
  planGrow,
  planMigration,
  planShrink,
  preferred,
  type Reservation,
  type ResizePlan,
  releaseAllocation,
  type SlotInventory,
  strategies,
} from '../../src/rvl/index.js';
import { Prng } from '../helpers/prng.js';

/** The from-scratch resize planners: the oracle for the index's own. */
const fromScratch = { planGrow, planShrink, planMigration };

import { MiB } from './fixtures.js';
import { expectConservation, expectNoOverlap } from './invariants.js';
import { randomAdapter, randomLanguageRequest, randomRequest } from './random.js';

const SEEDS = 30;
const STEPS = 80;

interface Held {
  reservation: Reservation;
  allocation: string;
  plan: Plan;
  /** Slot entries before the plan's loads, to model what a rollback restores. */
  slotsBefore: Map<string, SlotInventory | undefined>;
}

interface World {
  rng: Prng;
  index: AvailabilityIndex;
  model: Inventory;
  held: Held[];
  committed: string[];
  n: number;
}

/** What a from-scratch AdapterAvailability and the live state must agree on. */
function shape(a: AdapterAvailability) {
  return {
    id: a.id,
    server: a.server,
    health: a.health,
    freeMemory: a.freeMemory.map((e) => ({ ...e })),
    memorySlackBytes: a.memorySlackBytes,
    freeCompute: a.freeCompute.map((e) => ({ ...e })),
    slots: a.slots.map((s) => ({
      index: s.index,
      function: s.function,
      bitstream: s.bitstream,
      contexts: s.contexts,
      empty: s.empty,
      idle: s.idle,
      freeContexts: s.freeContexts.map((e) => ({ ...e })),
    })),
    freeEntries: [...a.freeEntries],
  };
}

function normalized(inv: Inventory): Inventory {
  const adapters = [...inv.adapters]
    .sort((x, y) => (x.id < y.id ? -1 : 1))
    .map((a) => ({ ...a, slots: [...a.slots].sort((x, y) => x.index - y.index) }));
  const slices = [...inv.slices]
    .map((s) => ({ ...s }))
    .sort((x, y) => (x.adapter < y.adapter ? -1 : x.adapter > y.adapter ? 1 : x.entry - y.entry));
  return { adapters, slices };
}

function expectSameAsRebuilt(w: World): void {
  expect(w.index.differences(), 'ordered lists match the state').toEqual([]);
  const rebuilt = buildAvailability(w.model);
  for (const a of rebuilt.adapters) expect(shape(w.index.adapter(a.id)!), a.id).toEqual(shape(a));
  expect(normalized(w.index.toInventory())).toEqual(normalized(w.model));
  expectNoOverlap(w.model);
  expectConservation(w.model);
}

function withSlots(
  inv: Inventory,
  adapter: string,
  change: (slots: SlotInventory[]) => SlotInventory[],
): Inventory {
  return {
    ...inv,
    adapters: inv.adapters.map((a) => (a.id === adapter ? { ...a, slots: change(a.slots) } : a)),
  };
}

function planAndReserve(w: World): void {
  // Some requests use the request language: its search must answer the same on both planners too.
  const request = w.rng.chance(0.3) ? randomLanguageRequest(w.rng) : randomRequest(w.rng);
  const result = w.index.plan(request);
  expect(result, 'index plan = from-scratch preferred plan').toEqual(
    preferred.plan(buildAvailability(w.model), request),
  );
  const baseline = strategies.find((s) => s.name === 'firstFit')!;
  expect(w.index.plan(request, baseline)).toEqual(baseline.plan(buildAvailability(w.model), request));
  if (!result.ok || w.rng.chance(0.1)) return;
  const allocation = `al${w.n}`;
  const slotsBefore = new Map<string, SlotInventory | undefined>();
  for (const p of result.plan.placements) {
    if (!p.loadBitstream) continue;
    const a = w.model.adapters.find((x) => x.id === p.adapter)!;
    slotsBefore.set(
      `${p.adapter}/${p.slot}`,
      a.slots.find((s) => s.index === p.slot),
    );
  }
  const reservation = w.index.reserve(result.plan, allocation);
  w.model = applyPlan(w.model, result.plan, allocation);
  w.held.push({ reservation, allocation, plan: result.plan, slotsBefore });
  // The same plan cannot be reserved twice: its capacity is held now.
  expect(() => w.index.reserve(result.plan, 'again')).toThrow(
    expect.objectContaining({ code: 'STALE_PLAN' }),
  );
}

function finish(w: World, commit: boolean): void {
  if (w.held.length === 0) return;
  const [h] = w.held.splice(w.rng.int(0, w.held.length - 1), 1);
  if (commit) {
    h!.reservation.commit();
    w.committed.push(h!.allocation);
    return;
  }
  h!.reservation.rollback();
  w.model = releaseAllocation(w.model, h!.allocation);
  // An engine the plan loaded is unloaded again, unless another slice uses its slot by now.
  for (const [key, before] of h!.slotsBefore) {
    const [adapter, slot] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
    const inUse = w.model.slices.some(
      (s) => s.adapter === adapter && s.kind === 'context' && s.slot === slot,
    );
    if (!inUse)
      w.model = withSlots(w.model, adapter, (slots) => [
        ...slots.filter((s) => s.index !== slot),
        ...(before ? [before] : []),
      ]);
  }
  expect(() => h!.reservation.commit()).toThrow(/already rolledBack/);
}

function release(w: World): void {
  if (w.committed.length === 0) return;
  const [allocation] = w.committed.splice(w.rng.int(0, w.committed.length - 1), 1);
  w.index.release(allocation!);
  w.model = releaseAllocation(w.model, allocation!);
}

function committedSlice(w: World): ExistingSlice | undefined {
  const held = new Set(w.held.map((h) => h.allocation));
  const resizable = w.model.slices.filter((s) => s.kind !== 'context' && !held.has(s.allocation));
  return resizable.length ? w.rng.pick(resizable) : undefined;
}

function resize(w: World): void {
  const slice = committedSlice(w);
  if (!slice) return;
  const av = buildAvailability(w.model);
  const roll = w.rng.int(0, 2);
  let plan: ResizePlan;
  if (roll === 0) {
    const length = slice.length + w.rng.int(1, 32 * MiB);
    const result = w.index.planGrow(slice, length);
    expect(result).toEqual(fromScratch.planGrow(av, slice, length));
    if (!result.ok) return;
    plan = result.plan;
  } else if (roll === 1) {
    const length = w.rng.int(1, slice.length);
    let expected: ResizePlan;
    try {
      expected = fromScratch.planShrink(av, slice, length);
    } catch (e) {
      // A foreign, unaligned slice may not shrink to an aligned length below its own: both refuse.
      expect(() => w.index.planShrink(slice, length)).toThrow((e as Error).message);
      return;
    }
    plan = w.index.planShrink(slice, length);
    expect(plan).toEqual(expected);
  } else {
    const targets = w.model.adapters.filter(() => w.rng.chance(0.6)).map((a) => a.id);
    if (targets.length === 0) return;
    const allowDegraded = w.rng.chance(0.5);
    const result = w.index.planMigration(slice, targets, { allowDegraded });
    expect(result).toEqual(fromScratch.planMigration(av, slice, targets, { allowDegraded }));
    if (!result.ok) return;
    plan = result.plan;
  }
  const reservation = w.index.reserveResize(plan);
  if (w.rng.chance(0.2)) {
    reservation.rollback();
    return;
  }
  reservation.commit();
  w.model = applyResize(w.model, plan);
}

function health(w: World): void {
  const a = w.rng.pick(w.model.adapters);
  const h = w.rng.pick<AdapterHealth>(['healthy', 'degraded', 'unhealthy']);
  w.index.setHealth(a.id, h);
  w.model = { ...w.model, adapters: w.model.adapters.map((x) => (x.id === a.id ? { ...x, health: h } : x)) };
}

/** An agent reports an adapter: with a slice the GRM did not make, and sometimes without a committed one. */
function report(w: World): void {
  const a = w.rng.pick(w.model.adapters);
  const av = buildAvailability(w.model).adapters.find((x) => x.id === a.id)!;
  let slices = w.model.slices.filter((s) => s.adapter === a.id);
  const held = new Set(w.held.map((h) => h.allocation));
  const expected: { foreign: ExistingSlice[]; vanished: ExistingSlice[] } = { foreign: [], vanished: [] };
  const free = av.freeMemory.filter((e) => e.length > 1);
  if (free.length && av.freeEntries.length && w.rng.chance(0.8)) {
    // Unaligned on purpose: the GRM's own slices never are, a foreign one may be.
    const e = w.rng.pick(free);
    const base = e.base + w.rng.int(0, Math.floor(e.length / 2));
    const length = w.rng.int(1, e.base + e.length - base);
    const foreign: ExistingSlice = {
      adapter: a.id,
      entry: w.rng.pick(av.freeEntries),
      kind: 'memory',
      base,
      length,
      allocation: `orphan:${w.n}`,
    };
    slices = [...slices, foreign];
    expected.foreign.push(foreign);
  }
  const gone = slices.filter((s) => !held.has(s.allocation) && !expected.foreign.includes(s));
  if (gone.length && w.rng.chance(0.3)) {
    const g = w.rng.pick(gone);
    slices = slices.filter((s) => s !== g);
    expected.vanished.push(g);
  }
  // Slices still held by reservations may or may not be on the adapter yet: both must keep them held.
  // (SLOT_CONTEXTS_USED then counts only the contexts configured so far.)
  const withHeld = w.rng.chance(0.5);
  const reported = withHeld ? slices : slices.filter((s) => !held.has(s.allocation));
  const contextsOf = (among: ExistingSlice[], slot: number) =>
    among.filter((s) => s.kind === 'context' && s.slot === slot).reduce((n, s) => n + s.length, 0);
  const minus = (among: ExistingSlice[]) => ({
    ...a,
    slots: a.slots.map((s) => ({ ...s, contextsUsed: s.contextsUsed - contextsOf(among, s.index) })),
  });
  const registers = minus([...expected.vanished, ...slices.filter((s) => !reported.includes(s))]);
  const result = w.index.applyAdapterReport(registers, reported);
  expect(result.foreign).toEqual(expected.foreign);
  expect(result.vanished).toEqual(expected.vanished);
  expect(result.lost).toEqual([]);
  const after = minus(expected.vanished);
  w.model = {
    adapters: w.model.adapters.map((x) => (x.id === a.id ? after : x)),
    slices: [...w.model.slices.filter((s) => s.adapter !== a.id), ...slices],
  };
  w.committed.push(...expected.foreign.map((s) => s.allocation));
}

describe('property: the live index equals the index rebuilt from its inventory', () => {
  it(`after every operation (${SEEDS} seeds x ${STEPS} steps)`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = new Prng(seed);
      const model: Inventory = {
        adapters: Array.from({ length: rng.int(1, 6) }, (_, i) => randomAdapter(rng, i)),
        slices: [],
      };
      const w: World = {
        rng,
        index: AvailabilityIndex.fromInventory(model),
        model,
        held: [],
        committed: [],
        n: 0,
      };
      for (w.n = 0; w.n < STEPS; w.n++) {
        try {
          const roll = rng.int(0, 19);
          if (roll < 8) planAndReserve(w);
          else if (roll < 10) finish(w, true);
          else if (roll < 11) finish(w, false);
          else if (roll < 13) release(w);
          else if (roll < 16) resize(w);
          else if (roll < 18) health(w);
          else report(w);
          expectSameAsRebuilt(w);
        } catch (e) {
          // Keep the assertion's own diff: only say where it happened.
          (e as Error).message = `seed ${seed}, step ${w.n}: ${(e as Error).message}`;
          throw e;
        }
      }
    }
  });
});
