// The reallocation loop's elastic pass: for each elastic compute resource, the utilization of the
// window since the last pass (ra-spec §10 counters), the policy's decision (policy.ts), and the resize
// that carries it out through the GRM's resize path (in place, or by a migration when the adapter is
// full). A grow that finds no room may preempt (preemption.ts) on the slice's adapter: shrink
// lower-priority preemptible elastic allocations to their min, or reclaim preemptible ones. Every
// action is recorded for the tenants it touched (events.ts) and logged.
import { RaError } from '../../common/errors.js';
import type { SliceSample } from '../../rvl/index.js';
import type { StoredAllocation } from '../../store/store.js';
import type { Maintenance } from '../maintenance.js';
import { GrmCode } from '../types.js';
import type { AllocationEvents } from './events.js';
import {
  type AdapterRoom,
  type HeadroomHolder,
  planLending,
  roomForGrowth,
  unusedUnits,
} from './headroom.js';
import { type Holder, planPreemption } from './preemption.js';
import { actOnContexts, elasticContextResources } from './reallocate-contexts.js';
import {
  decideResize,
  type ElasticAction,
  type ElasticMemory,
  keepSize,
  settleResize,
  stateKey,
} from './resize-decision.js';
import { byEntry, resourceUtilization } from './utilization.js';

export { type ElasticAction, type ElasticMemory, newElasticMemory } from './resize-decision.js';

/** The single-slice compute resources of an elastic allocation, by index. */
function elasticResources(a: StoredAllocation): number[] {
  if (a.state !== 'active' || !a.policy.elastic?.compute) return [];
  return a.resources.flatMap((r, i) => (r.kind === 'compute' && r.placements.length === 1 ? [i] : []));
}

const unitsOf = (a: StoredAllocation, i: number) =>
  a.resources[i]!.units ?? a.resources[i]!.placements[0]!.units ?? 0;

const unavailable = (err: unknown) => err instanceof RaError && err.code === GrmCode.RESOURCE_UNAVAILABLE;

/**
 * Grows toward `to`, taking less when the pool has less: the largest size from `to` down that a resize
 * gets. Returns the allocation as it is after (unchanged when nothing fitted).
 */
async function growUpTo(
  m: Maintenance,
  a: StoredAllocation,
  i: number,
  to: number,
): Promise<StoredAllocation> {
  for (let units = to; units > unitsOf(a, i); units--) {
    try {
      return await m.resizeCompute(a, i, units);
    } catch (err) {
      if (!unavailable(err)) throw err;
    }
  }
  return a;
}

/** Compute holders on `adapter` other than `self`, as preemption sees them. */
function holdersOn(m: Maintenance, adapter: string, self: string): Holder[] {
  return m.activeAllocations().flatMap((a) => {
    if (a.id === self) return [];
    const units = a.resources
      .filter((r) => r.kind === 'compute')
      .flatMap((r) => r.placements)
      .filter((p) => p.adapter === adapter)
      .reduce((n, p) => n + (p.units ?? 0), 0);
    if (units === 0) return [];
    const single = elasticResources(a).length === 1;
    return [
      {
        id: a.id,
        priority: a.policy.priority ?? 0,
        preemptible: a.policy.preemptible === true,
        size: units,
        // Only a single elastic compute resource can be shrunk by a plan counted in units.
        ...(single && a.policy.elastic?.compute ? { min: a.policy.elastic.compute.min } : {}),
      },
    ];
  });
}

/** Frees `need` compute units on `adapter` for `a` by preemption; the events of its victims. */
async function preempt(
  m: Maintenance,
  a: StoredAllocation,
  adapter: string,
  need: number,
  nowMs: number,
): Promise<ElasticAction[]> {
  const plan = planPreemption(need, a.policy.priority ?? 0, holdersOn(m, adapter, a.id));
  if (!plan) return [];
  const at = new Date(nowMs).toISOString();
  const done: ElasticAction[] = [];
  for (const p of plan.actions) {
    const victim = m.activeAllocations().find((x) => x.id === p.id);
    if (!victim) continue;
    if (p.kind === 'shrink') {
      const i = elasticResources(victim)[0]!;
      await m.resizeCompute(victim, i, p.to);
      done.push({
        allocation: victim.id,
        tenant: victim.tenant,
        event: {
          at,
          action: 'preempted-shrink',
          resource: i,
          from: p.from,
          to: p.to,
          detail: `shrunk toward its min for allocation ${a.id} of priority ${a.policy.priority ?? 0}`,
        },
      });
    } else {
      await m.withAllocation(victim.id, async (v) => {
        if (v?.state === 'active') await m.release(v, `preempted by ${a.id}`);
      });
      done.push({
        allocation: victim.id,
        tenant: victim.tenant,
        event: {
          at,
          action: 'preempted-reclaim',
          detail: `reclaimed for allocation ${a.id} of priority ${a.policy.priority ?? 0}`,
        },
      });
    }
  }
  return done;
}

/** The elastic compute allocations on each adapter other than `self`, with what they used this window. */
function lenders(
  m: Maintenance,
  mem: ElasticMemory,
  self: string,
  latest: ReadonlyMap<string, SliceSample>,
): Map<string, HeadroomHolder[]> {
  const out = new Map<string, HeadroomHolder[]>();
  for (const x of m.activeAllocations()) {
    const [i, ...more] = elasticResources(x);
    if (x.id === self || i === undefined || more.length > 0) continue;
    const p = x.resources[i]!.placements[0]!;
    const u = resourceUtilization([{ adapter: p.adapter, entry: p.slice }], x.id, mem.previous, latest);
    // No window, or work in flight: its use is unknown, so it lends nothing.
    if (u === undefined || m.jobsInFlight(x.id) > 0) continue;
    const size = unitsOf(x, i);
    const list = out.get(p.adapter) ?? [];
    list.push({ id: x.id, size, usedUnits: u * size, min: x.policy.elastic!.compute!.min });
    out.set(p.adapter, list);
  }
  return out;
}

/**
 * Lends `a` the units other elastic allocations held but did not use in this window (headroom.ts), on
 * its own adapter or on another that then holds its whole new size; the lenders' events.
 */
async function lendUnused(
  m: Maintenance,
  mem: ElasticMemory,
  a: StoredAllocation,
  i: number,
  to: number,
  latest: ReadonlyMap<string, SliceSample>,
  nowMs: number,
): Promise<ElasticAction[]> {
  const own = a.resources[i]!.placements[0]!.adapter;
  const size = unitsOf(a, i);
  const byAdapter = lenders(m, mem, a.id, latest);
  const rooms: AdapterRoom[] = (await m.freeComputeUnits()).map((r) => ({
    ...r,
    holders: byAdapter.get(r.adapter) ?? [],
  }));
  const mine = rooms.find((r) => r.adapter === own);
  const room = roomForGrowth(own, size, to, rooms);
  const lends =
    room?.lend ??
    (mine
      ? (planLending(
          Math.min(
            mine.holders.reduce((n, h) => n + unusedUnits(h), 0),
            to - size - mine.free,
          ),
          mine.holders,
        ) ?? [])
      : []);
  const at = new Date(nowMs).toISOString();
  const done: ElasticAction[] = [];
  for (const l of lends) {
    const lender = m.activeAllocations().find((x) => x.id === l.id);
    if (!lender) continue;
    const j = elasticResources(lender)[0]!;
    await m.resizeCompute(lender, j, l.to);
    mem.states.delete(stateKey(lender.id, j)); // its policy starts again from the new size
    done.push({
      allocation: lender.id,
      tenant: lender.tenant,
      event: {
        at,
        action: 'shrank',
        resource: j,
        from: l.from,
        to: l.to,
        detail: `gave ${l.from - l.to} unit(s) it did not use in the last window to a saturated allocation (it keeps what it used; it grows back when it needs them)`,
      },
    });
  }
  return done;
}

/** Grows back the victims of shrinks that freed nothing usable (best effort: the pool may have moved on). */
async function undoShrinks(m: Maintenance, preempted: readonly ElasticAction[]): Promise<void> {
  for (const x of preempted) {
    const e = x.event;
    const shrink = e.action === 'preempted-shrink' || e.action === 'shrank';
    if (!shrink || e.resource === undefined || e.from === undefined) continue;
    const victim = m.activeAllocations().find((v) => v.id === x.allocation);
    if (victim) await growUpTo(m, victim, e.resource, e.from).catch(() => undefined);
  }
}

/** One resource: decide from its utilization, act, and return what was done (to it or to others). */
async function actOn(
  m: Maintenance,
  mem: ElasticMemory,
  a: StoredAllocation,
  i: number,
  latest: ReadonlyMap<string, SliceSample>,
  nowMs: number,
): Promise<ElasticAction[]> {
  const p = a.resources[i]!.placements[0]!;
  const slices = [{ adapter: p.adapter, entry: p.slice }];
  const size = unitsOf(a, i);
  const d = decideResize(m, mem, a, i, a.policy.elastic!.compute!, slices, size, latest, nowMs);
  if (!d) return [];
  // Growth stops at the tenant's compute quota (issue 16): never asked for, so nobody is preempted for it.
  const to = d.action.kind === 'grow' ? Math.min(d.action.to, size + m.unitsHeadroom(a.tenant)) : d.action.to;
  if (to === size) {
    keepSize(mem, d); // as when a grow found no room
    return [];
  }
  const done: ElasticAction[] = [];
  let after = a;
  if (d.action.kind === 'shrink') after = await m.resizeCompute(a, i, to);
  else {
    after = await growUpTo(m, a, i, to);
    if (unitsOf(after, i) < to) {
      const before = unitsOf(after, i);
      const lent = await lendUnused(m, mem, after, i, to, latest, nowMs);
      if (lent.length > 0) after = await growUpTo(m, after, i, to);
      // Units lent where the slice could not use them (not next to it, another adapter still short)
      // are given back: a lender shrinks only for a growth it made possible.
      if (unitsOf(after, i) === before) await undoShrinks(m, lent);
      else done.push(...lent);
    }
    if (unitsOf(after, i) < to) {
      const before = unitsOf(after, i);
      const preempted = await preempt(m, a, p.adapter, to - before, nowMs);
      if (preempted.length > 0) after = await growUpTo(m, after, i, to);
      // The plan counts units, not contiguous ranges: freed units may not be usable by this slice
      // (fragmentation). A shrink that gave nothing is given back; a reclaim cannot be.
      if (unitsOf(after, i) === before) await undoShrinks(m, preempted);
      done.push(
        ...preempted.filter((x) => x.event.action !== 'preempted-shrink' || unitsOf(after, i) > before),
      );
    }
  }
  const got = unitsOf(after, i);
  const wanted = got !== to ? ` (wanted ${to}; the pool had less)` : '';
  done.push(
    ...settleResize(mem, a, i, d, got, nowMs, `compute ${size} -> ${got} units: ${d.action.reason}${wanted}`),
  );
  return done;
}

/**
 * The elastic pass over every active allocation with an elastic policy, after the pass's other
 * actions. `samples` are this pass's reading; they become the next window's start.
 */
export async function elasticPass(
  m: Maintenance,
  mem: ElasticMemory,
  events: AllocationEvents,
  samples: readonly SliceSample[],
  nowMs: number,
): Promise<ElasticAction[]> {
  const latest = byEntry(samples);
  const done: ElasticAction[] = [];
  // Higher priority first: its growth may preempt; then by id, so the order is the same every pass.
  const elastic = m
    .activeAllocations()
    .filter((a) => elasticResources(a).length > 0 || elasticContextResources(a).length > 0)
    .sort((x, y) => (y.policy.priority ?? 0) - (x.policy.priority ?? 0) || x.id.localeCompare(y.id));
  for (const a0 of elastic) {
    for (const i of elasticResources(a0)) {
      const a = m.activeAllocations().find((x) => x.id === a0.id); // fresh: preemption may have taken it
      if (!a || !elasticResources(a).includes(i)) continue;
      try {
        done.push(...(await actOn(m, mem, a, i, latest, nowMs)));
      } catch (err) {
        m.log.warn({ allocation: a.id, resource: i, err: (err as Error).message }, 'elastic resize failed');
      }
    }
    for (const i of elasticContextResources(a0)) {
      const a = m.activeAllocations().find((x) => x.id === a0.id);
      if (!a || !elasticContextResources(a).includes(i)) continue;
      try {
        done.push(...(await actOnContexts(m, mem, a, i, latest, nowMs)));
      } catch (err) {
        m.log.warn(
          { allocation: a.id, resource: i, err: (err as Error).message },
          'elastic context resize failed',
        );
      }
    }
  }
  mem.previous = latest;
  for (const key of [...mem.states.keys()])
    if (!m.activeAllocations().some((a) => key.startsWith(`${a.id}#`))) mem.states.delete(key);
  for (const d of done) {
    events.record(d.allocation, d.tenant, d.event);
    m.log.info({ allocation: d.allocation, ...d.event }, `reallocation: ${d.event.action}`);
  }
  return done;
}
