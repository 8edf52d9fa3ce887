// The reallocation loop: reclaims allocations whose lease expired or whose slices sat idle past their
// policy's limit (read from the adapters' utilization counters, ra-spec §10), and marks allocations
// on adapters that went unhealthy as lost, or replaces those slices when the policy asks (their
// contents cannot be read off a dead adapter).
// Idleness has one rule, the RVL's (src/rvl/reclaim.ts, two samples of the ra-spec §10 counters), plus
// what only the GRM knows: an allocation with a job in flight is in use.
import type { AgentAdapter } from '../agent/agent.js';
import { grew, idleSlices, type SliceSample } from '../rvl/reclaim.js';
import type { StoredAllocation } from '../store/store.js';
import type { Grm } from './grm.js';
import type { KeyIndex, PoolSnapshot } from './pool.js';

export interface ReallocationEvent {
  allocation: string;
  action: 'lease-expired' | 'idle-reclaimed' | 'adapter-lost' | 'replaced';
  detail: string;
}

/**
 * Per GRM, per slice: the earliest sample since which its counters have not moved (the earlier of
 * the rule's two samples), so that an idle period can span many passes.
 */
const windowStarts = new WeakMap<Grm, Map<string, SliceSample>>();

const sliceKey = (s: { adapter: string; entry: number }) => `${s.adapter}#${s.entry}`;

/** Every attributed slice's counters, stamped with its adapter's clock (REG_CLOCK_NS). */
function samplesOf(pool: PoolSnapshot, keys: KeyIndex): SliceSample[] {
  return pool.adapters.flatMap((a: AgentAdapter) =>
    a.slices.flatMap((s) => {
      const allocation = keys.get(s.ownerKey);
      if (allocation === undefined) return [];
      return [
        {
          adapter: a.id,
          entry: s.entry,
          allocation,
          sampledAtNs: a.clockNs,
          lastActiveNs: s.lastActiveNs,
          busyNs: s.busyNs,
          bytesMoved: s.bytesMoved,
          jobs: s.jobs,
        },
      ];
    }),
  );
}

/**
 * The earlier sample of a slice first seen in this pass: unused since the allocation was created,
 * its creation time carried onto the adapter's clock by the wall-clock time elapsed since.
 */
function creationSample(s: SliceSample, a: StoredAllocation, nowMs: number): SliceSample {
  const ageNs = Math.max(0, nowMs - Date.parse(a.createdAt)) * 1e6;
  return { ...s, sampledAtNs: s.sampledAtNs - ageNs, lastActiveNs: 0, busyNs: 0, bytesMoved: 0, jobs: 0 };
}

/**
 * Idle: no job in flight, and every slice of the allocation idle past its limit by the RVL's rule.
 * A slice missing from the registers proves nothing (reconciliation deals with it).
 */
function isIdle(
  grm: Grm,
  a: StoredAllocation,
  limitMs: number,
  starts: ReadonlyMap<string, SliceSample>,
  latest: readonly SliceSample[],
  nowMs: number,
): boolean {
  // Work in flight is use, and so is a job that returned within the limit: the engine finished it
  // earlier (its counters say when), but its result was still being delivered.
  if (grm.jobsInFlight(a.id) > 0 || nowMs - grm.lastJobEndedMs(a.id) < limitMs) return false;
  const placements = a.resources
    .flatMap((r) => r.placements)
    .map((p) => sliceKey({ adapter: p.adapter, entry: p.slice }));
  const mine = latest.filter((s) => s.allocation === a.id && placements.includes(sliceKey(s)));
  if (mine.length !== placements.length) return false;
  const earlier = mine.flatMap((s) => starts.get(sliceKey(s)) ?? []);
  const idle = idleSlices(earlier, mine, { idleReclaimMs: limitMs, growWhenBusyPercent: 100 });
  return idle.length === mine.length;
}

/** Moves each slice's window start: a new slice starts at its creation, one whose counters moved now. */
function advanceWindows(
  grm: Grm,
  starts: Map<string, SliceSample>,
  latest: readonly SliceSample[],
  nowMs: number,
): void {
  const seen = new Set<string>();
  for (const s of latest) {
    const key = sliceKey(s);
    seen.add(key);
    const start = starts.get(key);
    const a = grm.allocations.get(s.allocation);
    if (!start || start.allocation !== s.allocation) starts.set(key, a ? creationSample(s, a, nowMs) : s);
    else if (grew(start, s) || s.lastActiveNs !== start.lastActiveNs) starts.set(key, s);
  }
  for (const key of [...starts.keys()]) if (!seen.has(key)) starts.delete(key);
}

export async function reallocateOnce(grm: Grm, nowMs = Date.now()): Promise<ReallocationEvent[]> {
  const pool = await grm.readPool();
  const latest = samplesOf(pool, grm.keyIndex());
  const starts = windowStarts.get(grm) ?? new Map<string, SliceSample>();
  windowStarts.set(grm, starts);
  advanceWindows(grm, starts, latest, nowMs);
  const events: ReallocationEvent[] = [];
  const adapters = new Map(pool.adapters.map((a) => [a.id, a]));
  for (const a of [...grm.allocations.values()]) {
    if (a.state !== 'active') continue;
    const placements = a.resources.flatMap((r) => r.placements);
    const dead = placements.find((p) => adapters.get(p.adapter)?.health === 'unhealthy');
    if (dead && a.policy.onAdapterFailure === 'replace') {
      const replaced = await grm
        .replaceFailedSlices(a, (adapter) => adapters.get(adapter)?.health === 'unhealthy')
        .catch((err: Error) => err);
      if (!(replaced instanceof Error)) {
        events.push({
          allocation: a.id,
          action: 'replaced',
          detail: `slices on ${dead.adapter} programmed again on healthy adapters; their memory contents are lost`,
        });
        continue;
      }
      grm.log.warn(
        { allocation: a.id, err: replaced.message },
        'could not replace the failed slices: marking the allocation lost',
      );
    }
    if (dead) {
      const lost = { ...a, state: 'lost' as const };
      await grm.store.update(lost);
      grm.allocations.set(a.id, lost);
      events.push({
        allocation: a.id,
        action: 'adapter-lost',
        detail: `adapter ${dead.adapter} is unhealthy`,
      });
      continue;
    }
    if (a.leaseExpiresAt && Date.parse(a.leaseExpiresAt) <= nowMs) {
      await grm.releaseLocked(a, 'lease expired');
      events.push({
        allocation: a.id,
        action: 'lease-expired',
        detail: `lease ended at ${a.leaseExpiresAt}`,
      });
      continue;
    }
    const limitMs = a.policy.idleReclaimMs;
    if (!limitMs) continue;
    if (isIdle(grm, a, limitMs, starts, latest, nowMs)) {
      await grm.releaseLocked(a, `idle for more than ${limitMs} ms`);
      events.push({ allocation: a.id, action: 'idle-reclaimed', detail: `no use for over ${limitMs} ms` });
    }
  }
  for (const e of events) grm.log.info({ ...e }, `reallocation: ${e.action}`);
  return events;
}

/** Runs reallocateOnce every `intervalMs` until the returned stop() is called. */
export function startReallocator(grm: Grm, intervalMs: number): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    grm
      .exclusive(() => reallocateOnce(grm))
      .catch((err: Error) => grm.log.error({ err: err.message }, 'reallocation pass failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
