// The three reallocation policies the simulator compares, each reacting once per step (one
// reallocation period) to what the step showed: the same trace, the same pool model.
// - static: every tenant reserves its peak once, for the whole run;
// - release-when-idle (the GRM's behaviour before elastic allocations): a tenant holds its peak while
//   in use and loses it after idleReclaimMs without demand; it asks again when demand returns;
// - elastic: the real policy and preemption code (src/grm/elastic) sizes each tenant between its min
//   and its peak from its utilization.
import {
  type AdapterRoom,
  type HeadroomHolder,
  planLending,
  roomForGrowth,
  unusedUnits,
} from '../headroom.js';
import { decide, type ElasticPolicy, type ElasticState, initialState } from '../policy.js';
import { type Holder, planPreemption } from '../preemption.js';
import type { SimPool } from './pool.js';
import type { SimTenant, Trace } from './trace.js';

export interface StepView {
  /** Index of the step that just ended; the policy's changes hold from the next one. */
  step: number;
  /** The end of the step. */
  nowMs: number;
  stepMs: number;
  /** Each tenant's demand during the step. */
  demand: ReadonlyMap<string, number>;
}

export interface SimCounters {
  preemptShrinks: number;
  preemptReclaims: number;
  /** Shrinks of a holder's unused units lent to a growth (headroom.ts). */
  lends: number;
  grows: number;
  shrinks: number;
}

export interface SimPolicy {
  readonly name: string;
  /** Called once before the first step. */
  start(pool: SimPool, trace: Trace): void;
  afterStep(pool: SimPool, view: StepView, counters: SimCounters): void;
}

/** Higher priority first, then by id: who asks first when capacity frees up. */
const byPriority = (tenants: readonly SimTenant[]) =>
  [...tenants].sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));

export function staticPolicy(): SimPolicy {
  return {
    name: 'static',
    start(pool, trace) {
      for (const t of byPriority(trace.tenants)) pool.place(t.id, t.peakUnits);
    },
    afterStep() {},
  };
}

export function releaseWhenIdlePolicy(idleReclaimMs: number): SimPolicy {
  let tenants: SimTenant[] = [];
  const idleSinceMs = new Map<string, number>();
  return {
    name: 'release-when-idle',
    start(pool, trace) {
      tenants = byPriority(trace.tenants);
      for (const t of tenants) if (t.demand[0]! > 0) pool.place(t.id, t.peakUnits);
    },
    afterStep(pool, view) {
      for (const t of tenants) {
        const d = view.demand.get(t.id)!;
        if (d > 0) idleSinceMs.delete(t.id);
        else if (!idleSinceMs.has(t.id)) idleSinceMs.set(t.id, view.nowMs - view.stepMs);
        const held = pool.units(t.id) > 0;
        if (held && d === 0 && view.nowMs - idleSinceMs.get(t.id)! >= idleReclaimMs) pool.release(t.id);
        else if (!held && d > 0) pool.place(t.id, t.peakUnits);
      }
    },
  };
}

export interface ElasticSimOptions {
  targetUtilization: number;
  cooldownMs: number;
  /** A tenant's min as a share of its peak (rounded up, at least 1 unit). */
  minShareOfPeak: number;
}

export function elasticPolicy(o: ElasticSimOptions): SimPolicy {
  let tenants: SimTenant[] = [];
  const policies = new Map<string, ElasticPolicy>();
  const states = new Map<string, ElasticState>();

  const holdersOn = (pool: SimPool, adapter: number): Holder[] =>
    tenants
      .filter((t) => pool.held.get(t.id)?.adapter === adapter)
      .map((t) => ({
        id: t.id,
        priority: t.priority,
        preemptible: t.preemptible,
        size: pool.units(t.id),
        min: policies.get(t.id)!.min,
      }));

  /** Frees `need` units on `adapter` for `t` by the preemption plan, if one exists; true when done. */
  const preemptFor = (
    pool: SimPool,
    t: SimTenant,
    adapter: number,
    need: number,
    nowMs: number,
    c: SimCounters,
  ) => {
    const plan = planPreemption(need, t.priority, holdersOn(pool, adapter));
    if (!plan) return false;
    for (const a of plan.actions) {
      if (a.kind === 'shrink') {
        pool.shrink(a.id, a.to);
        states.set(a.id, { ...states.get(a.id)!, size: a.to, lastChangeMs: nowMs });
        c.preemptShrinks++;
      } else {
        pool.release(a.id);
        states.delete(a.id);
        c.preemptReclaims++;
      }
    }
    return true;
  };

  /** The elastic tenants on `adapter` other than `self`, with what they used in the step that ended. */
  const lendersOn = (pool: SimPool, adapter: number, self: string, view: StepView): HeadroomHolder[] =>
    tenants
      .filter((x) => x.id !== self && pool.held.get(x.id)?.adapter === adapter)
      .map((x) => ({
        id: x.id,
        size: pool.units(x.id),
        usedUnits: Math.min(pool.units(x.id), view.demand.get(x.id)!),
        min: policies.get(x.id)!.min,
      }));

  /** Takes the lent units (headroom.ts): the lenders shrink, as a shrink of their own would. */
  const lend = (
    pool: SimPool,
    lends: readonly { id: string; to: number }[],
    nowMs: number,
    c: SimCounters,
  ) => {
    for (const l of lends) {
      pool.shrink(l.id, l.to);
      states.set(l.id, { ...states.get(l.id)!, size: l.to, lastChangeMs: nowMs, lastChange: 'shrink' });
      c.lends++;
    }
  };

  /**
   * A grow the free units could not give: units others hold but did not use, on its own adapter or,
   * when that is not enough, on another where the whole new size fits (the slice moves); else what
   * its own adapter's lenders have. Returns the size reached.
   */
  const growWithLentUnits = (pool: SimPool, t: SimTenant, to: number, view: StepView, c: SimCounters) => {
    const own = pool.held.get(t.id)!.adapter;
    const size = pool.units(t.id);
    const rooms: AdapterRoom[] = pool.free.map((free, a) => ({
      adapter: String(a),
      free,
      holders: lendersOn(pool, a, t.id, view),
    }));
    const room = roomForGrowth(String(own), size, to, rooms);
    if (room) lend(pool, room.lend, view.nowMs, c);
    else {
      const mine = rooms[own]!.holders;
      const available = mine.reduce((n, h) => n + unusedUnits(h), 0);
      lend(pool, planLending(Math.min(available, to - size - pool.free[own]!), mine) ?? [], view.nowMs, c);
    }
    return pool.grow(t.id, to);
  };

  const admit = (pool: SimPool, t: SimTenant, nowMs: number, c: SimCounters) => {
    const p = policies.get(t.id)!;
    let ok = pool.place(t.id, p.min);
    if (!ok) {
      // The adapter with the most free units is the cheapest to preempt on.
      const adapter = pool.free.indexOf(Math.max(...pool.free));
      if (preemptFor(pool, t, adapter, p.min - pool.free[adapter]!, nowMs, c)) ok = pool.place(t.id, p.min);
    }
    if (ok) states.set(t.id, initialState(p.min, nowMs));
  };

  return {
    name: 'elastic',
    start(pool, trace) {
      tenants = byPriority(trace.tenants);
      for (const t of tenants) {
        const min = Math.max(1, Math.ceil(t.peakUnits * o.minShareOfPeak));
        policies.set(t.id, {
          min,
          max: t.peakUnits,
          targetUtilization: o.targetUtilization,
          cooldownMs: o.cooldownMs,
        });
      }
      for (const t of tenants)
        admit(pool, t, -o.cooldownMs, {
          preemptShrinks: 0,
          preemptReclaims: 0,
          lends: 0,
          grows: 0,
          shrinks: 0,
        });
    },
    afterStep(pool, view, c) {
      for (const t of tenants) {
        const d = view.demand.get(t.id)!;
        const state = states.get(t.id);
        if (!state) {
          if (d > 0) admit(pool, t, view.nowMs, c);
          continue;
        }
        const size = pool.units(t.id);
        const r = decide(policies.get(t.id)!, { ...state, size }, Math.min(1, d / size), view.nowMs);
        if (r.action.kind === 'grow') {
          const to = r.action.to;
          let got = pool.grow(t.id, to);
          if (got < to) got = growWithLentUnits(pool, t, to, view, c);
          if (got < to) {
            // Preempt on the slice's own adapter for the rest, else on another for the whole new
            // size (the slice then moves there).
            const own = pool.held.get(t.id)!.adapter;
            const others = pool.free.map((_, i) => i).filter((i) => i !== own);
            const freed =
              preemptFor(pool, t, own, to - got, view.nowMs, c) ||
              others.some((a) => preemptFor(pool, t, a, to - pool.free[a]!, view.nowMs, c));
            if (freed) got = pool.grow(t.id, to);
          }
          // What it got is its size; a grow that got nothing is no change (no cooldown starts).
          if (got > size) c.grows++;
          states.set(
            t.id,
            got > size ? { ...r.state, size: got } : { ...state, size, recent: r.state.recent },
          );
        } else if (r.action.kind === 'shrink') {
          pool.shrink(t.id, r.action.to);
          c.shrinks++;
          states.set(t.id, r.state);
        } else states.set(t.id, r.state);
      }
    },
  };
}
