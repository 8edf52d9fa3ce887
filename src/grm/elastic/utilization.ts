// Utilization of a resource over the window between two samples of its slices' counters (ra-spec §10:
// SLICE_BUSY_NS grows by the ns of DMA or engine time charged to the slice; REG_CLOCK_NS dates each
// sample). Pure: the samples are read by the caller (the reallocator from the adapters, the simulator
// from its trace).
import type { SliceSample } from '../../rvl/index.js';

const key = (s: { adapter: string; entry: number }) => `${s.adapter}#${s.entry}`;

/**
 * Busy share, 0..1, of the resource whose slices are `entries` (adapter#entry keys), over the window
 * from `previous` to `latest`: the busiest slice's share, because one saturated slice is what limits
 * its tenant. Undefined when no slice has a usable window (first sample, or an entry reused or reset,
 * seen as a counter going backwards), so that the caller decides nothing from nothing.
 */
export function resourceUtilization(
  entries: readonly { adapter: string; entry: number }[],
  allocation: string,
  previous: ReadonlyMap<string, SliceSample>,
  latest: ReadonlyMap<string, SliceSample>,
): number | undefined {
  let busiest: number | undefined;
  for (const e of entries) {
    const s = latest.get(key(e));
    const p = previous.get(key(e));
    if (!s || !p || s.allocation !== allocation || p.allocation !== allocation) continue;
    const windowNs = s.sampledAtNs - p.sampledAtNs;
    if (windowNs <= 0 || s.busyNs < p.busyNs) continue;
    const share = Math.min(1, (s.busyNs - p.busyNs) / windowNs);
    busiest = Math.max(busiest ?? 0, share);
  }
  return busiest;
}

/** Samples keyed by adapter#entry, the key resourceUtilization looks them up by. */
export function byEntry(samples: readonly SliceSample[]): Map<string, SliceSample> {
  return new Map(samples.map((s) => [key(s), s]));
}
