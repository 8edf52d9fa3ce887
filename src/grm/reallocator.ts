// The reallocation loop: reclaims allocations whose lease expired or whose slices sat idle past their
// policy's limit (read from the adapters' utilization counters, ra-spec §10), and marks allocations
// on adapters that went unhealthy as lost, or replaces those slices when the policy asks (their
// contents cannot be read off a dead adapter).
// Idleness has one rule, the RVL's (src/rvl/reclaim.ts, two samples of the ra-spec §10 counters), plus
// what only the GRM knows: an allocation with a job in flight is in use.
// Two policies (docs/realloc.md): 'elastic' (default) grows busy and shrinks idle allocations that carry
// policy.elastic (src/grm/elastic/) and releases none of them for idleness; 'release-when-idle' is the
// behaviour from before elastic allocations: idle allocations are released, none is resized.
import { grew, idleSlices, type SliceSample } from '../rvl/reclaim.js';
import type { StoredAllocation } from '../store/store.js';
import { type ElasticMemory, elasticPass, newElasticMemory } from './elastic/reallocate.js';
import { type MaintainedGrm, type Maintenance, startPeriodicPass } from './maintenance.js';

export interface ReallocationEvent {
  allocation: string;
  action:
    | 'lease-expired'
    | 'idle-reclaimed'
    | 'adapter-lost'
    | 'replaced'
    | 'grew'
    | 'shrank'
    | 'preempted-shrink'
    | 'preempted-reclaim'
    | 'migrated';
  detail: string;
  /** grew, shrank, preempted-shrink: the resource and its size before and after. */
  resource?: number;
  from?: number;
  to?: number;
}

export type ReallocationPolicy = 'elastic' | 'release-when-idle';

/** Per GRM: what the elastic pass keeps between passes (its window start, each resource's state). */
const elasticMemories = new WeakMap<Maintenance, ElasticMemory>();

/**
 * Per GRM, per slice: the earliest sample since which its counters have not moved (the earlier of
 * the rule's two samples), so that an idle period can span many passes.
 */
const windowStarts = new WeakMap<Maintenance, Map<string, SliceSample>>();

const sliceKey = (s: { adapter: string; entry: number }) => `${s.adapter}#${s.entry}`;

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
  m: Maintenance,
  a: StoredAllocation,
  limitMs: number,
  starts: ReadonlyMap<string, SliceSample>,
  latest: readonly SliceSample[],
  nowMs: number,
): boolean {
  // Work in flight is use, and so is a job that returned within the limit: the engine finished it
  // earlier (its counters say when), but its result was still being delivered.
  if (m.jobsInFlight(a.id) > 0 || nowMs - m.lastJobEndedMs(a.id) < limitMs) return false;
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
  allocations: ReadonlyMap<string, StoredAllocation>,
  starts: Map<string, SliceSample>,
  latest: readonly SliceSample[],
  nowMs: number,
): void {
  const seen = new Set<string>();
  for (const s of latest) {
    const key = sliceKey(s);
    seen.add(key);
    const start = starts.get(key);
    const a = allocations.get(s.allocation);
    if (!start || start.allocation !== s.allocation) starts.set(key, a ? creationSample(s, a, nowMs) : s);
    else if (grew(start, s) || s.lastActiveNs !== start.lastActiveNs) starts.set(key, s);
  }
  for (const key of [...starts.keys()]) if (!seen.has(key)) starts.delete(key);
}

/**
 * What one allocation needs, decided and done under its lock with its present record: a release,
 * resize or migration that ran since the pass read the adapters is seen.
 */
function act(
  m: Maintenance,
  id: string,
  unhealthy: (adapter: string) => boolean,
  idle: (a: StoredAllocation, limitMs: number) => boolean,
  nowMs: number,
  policy: ReallocationPolicy,
): Promise<ReallocationEvent | undefined> {
  return m.withAllocation(id, async (a) => {
    if (a?.state !== 'active') return undefined;
    const dead = a.resources.flatMap((r) => r.placements).find((p) => unhealthy(p.adapter));
    if (dead && a.policy.onAdapterFailure === 'replace') {
      const replaced = await m.replaceFailedSlices(a, unhealthy).catch((err: Error) => err);
      if (!(replaced instanceof Error))
        return {
          allocation: a.id,
          action: 'replaced',
          detail: `slices on ${dead.adapter} programmed again on healthy adapters; their memory contents are lost`,
        };
      m.log.warn(
        { allocation: a.id, err: replaced.message },
        'could not replace the failed slices: marking the allocation lost',
      );
    }
    if (dead) {
      await m.markLost(a);
      return { allocation: a.id, action: 'adapter-lost', detail: `adapter ${dead.adapter} is unhealthy` };
    }
    if (a.leaseExpiresAt && Date.parse(a.leaseExpiresAt) <= nowMs) {
      await m.release(a, 'lease expired');
      return { allocation: a.id, action: 'lease-expired', detail: `lease ended at ${a.leaseExpiresAt}` };
    }
    const limitMs = a.policy.idleReclaimMs;
    // Elastic allocations shrink to their min when idle instead (src/grm/elastic/).
    const elastic = policy === 'elastic' && a.policy.elastic !== undefined;
    if (limitMs && !elastic && idle(a, limitMs)) {
      await m.release(a, `idle for more than ${limitMs} ms`);
      return { allocation: a.id, action: 'idle-reclaimed', detail: `no use for over ${limitMs} ms` };
    }
    return undefined;
  });
}

export async function reallocateOnce(
  grm: { maintenance: Maintenance },
  nowMs = Date.now(),
  policy: ReallocationPolicy = 'elastic',
): Promise<ReallocationEvent[]> {
  const m = grm.maintenance;
  const { adapters, samples, unreachable } = await m.observe();
  const active = new Map(m.activeAllocations().map((a) => [a.id, a]));
  const starts = windowStarts.get(m) ?? new Map<string, SliceSample>();
  windowStarts.set(m, starts);
  advanceWindows(active, starts, samples, nowMs);
  // An agent that does not answer takes its adapters with it: their allocations fail or move too.
  const health = new Map<string, string>([
    ...adapters.map((a): [string, string] => [a.id, a.health]),
    ...unreachable.map((id): [string, string] => [id, 'unhealthy']),
  ]);
  const unhealthy = (adapter: string) => health.get(adapter) === 'unhealthy';
  const idle = (a: StoredAllocation, limitMs: number) => isIdle(m, a, limitMs, starts, samples, nowMs);
  const events: ReallocationEvent[] = [];
  for (const id of active.keys()) {
    const event = await act(m, id, unhealthy, idle, nowMs, policy);
    if (event) events.push(event);
  }
  const at = new Date(nowMs).toISOString();
  for (const e of events) {
    m.log.info({ ...e }, `reallocation: ${e.action}`);
    const tenant = active.get(e.allocation)?.tenant;
    if (tenant) m.events.record(e.allocation, tenant, { at, action: e.action, detail: e.detail });
  }
  if (policy === 'elastic') {
    const memory = elasticMemories.get(m) ?? newElasticMemory();
    elasticMemories.set(m, memory);
    const done = await elasticPass(m, memory, m.events, samples, nowMs);
    events.push(...done.map((d) => ({ allocation: d.allocation, ...d.event })));
  }
  return events;
}

/** Runs reallocateOnce every `intervalMs` (beside allocation) until the returned stop() is called. */
export function startReallocator(
  grm: MaintainedGrm,
  intervalMs: number,
  policy: ReallocationPolicy = 'elastic',
): () => void {
  return startPeriodicPass(
    grm,
    'reallocation pass',
    () => reallocateOnce(grm, Date.now(), policy),
    intervalMs,
  );
}
