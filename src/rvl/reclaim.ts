// Reallocation's eyes (DESIGN.md "Reallocation reclaims idle slices and grows busy allocations"): from
// slice counters sampled twice (ra-spec §10: LAST_ACTIVE_NS, BUSY_NS, BYTES_MOVED, JOBS), which slices
// have been idle past the limit and which allocations are busy enough to grow. Pure: no clock is read.

export interface SliceSample {
  adapter: string;
  entry: number;
  allocation: string;
  /** The adapter's REG_CLOCK_NS when the counters were read. */
  sampledAtNs: number;
  /** SLICE_LAST_ACTIVE_NS: 0 when never used. */
  lastActiveNs: number;
  busyNs: number;
  bytesMoved: number;
  jobs: number;
}

export interface ReclaimPolicy {
  idleReclaimMs: number;
  growWhenBusyPercent: number;
}

export interface IdleSlice {
  adapter: string;
  entry: number;
  allocation: string;
  idleMs: number;
}

export interface BusyAllocation {
  allocation: string;
  /** Busy share of its busiest slice over the window (the bottleneck decides growth). */
  busyPercent: number;
  adapter: string;
  entry: number;
}

const NS_PER_MS = 1_000_000;
const key = (s: { adapter: string; entry: number }) => `${s.adapter}#${s.entry}`;

/** The earlier sample of the same slice, unless the entry has since been reused by another allocation. */
function previousOf(previous: readonly SliceSample[], s: SliceSample): SliceSample | undefined {
  const p = previous.find((x) => key(x) === key(s));
  return p && p.allocation === s.allocation && p.sampledAtNs < s.sampledAtNs ? p : undefined;
}

/** Counters that grew between the samples prove use, whatever LAST_ACTIVE_NS says. */
export function grew(p: SliceSample, s: SliceSample): boolean {
  return s.jobs > p.jobs || s.bytesMoved > p.bytesMoved || s.busyNs > p.busyNs;
}

/**
 * Idle since LAST_ACTIVE_NS; a never-used slice counts as idle since the earlier sample saw it unused,
 * because its creation time is not in the counters. Idle ones are returned, longest idle first.
 */
export function idleSlices(
  previous: readonly SliceSample[],
  latest: readonly SliceSample[],
  policy: ReclaimPolicy,
): IdleSlice[] {
  const idle: IdleSlice[] = [];
  for (const s of latest) {
    const p = previousOf(previous, s);
    if (p && grew(p, s)) continue;
    const since = s.lastActiveNs > 0 ? s.lastActiveNs : p && p.lastActiveNs === 0 ? p.sampledAtNs : undefined;
    if (since === undefined) continue;
    const idleMs = (s.sampledAtNs - since) / NS_PER_MS;
    if (idleMs >= policy.idleReclaimMs)
      idle.push({ adapter: s.adapter, entry: s.entry, allocation: s.allocation, idleMs });
  }
  return idle.sort((x, y) => y.idleMs - x.idleMs || key(x).localeCompare(key(y)));
}

/** Allocations with a slice busy more than `growWhenBusyPercent` of the window between two samples. */
export function busyAllocations(
  previous: readonly SliceSample[],
  latest: readonly SliceSample[],
  policy: ReclaimPolicy,
): BusyAllocation[] {
  const busiest = new Map<string, BusyAllocation>();
  for (const s of latest) {
    const p = previousOf(previous, s);
    // A counter that went backwards means the slice was re-created: no window to measure.
    if (!p || s.busyNs < p.busyNs) continue;
    const busyPercent = (100 * (s.busyNs - p.busyNs)) / (s.sampledAtNs - p.sampledAtNs);
    const known = busiest.get(s.allocation);
    if (!known || busyPercent > known.busyPercent) {
      busiest.set(s.allocation, {
        allocation: s.allocation,
        busyPercent,
        adapter: s.adapter,
        entry: s.entry,
      });
    }
  }
  return [...busiest.values()]
    .filter((b) => b.busyPercent > policy.growWhenBusyPercent)
    .sort((x, y) => y.busyPercent - x.busyPercent || x.allocation.localeCompare(y.allocation));
}
