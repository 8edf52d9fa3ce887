// Utilization history per adapter for the dashboard's sparklines: from two readings of the slices'
// SLICE_BUSY_NS counters (ra-spec §10) and the adapter's clock, the share of the interval its slices
// were charged DMA or engine time. Slices run in parallel (several engines, DMA beside them), so the
// sum can pass the interval: the figure is capped at 100 %.
import type { PictureAdapter } from '../../grm/picture.js';

export interface UsagePoint {
  /** Wall-clock time of the reading (Date.now() ms). */
  atMs: number;
  percent: number;
}

/** Five minutes of points at the stream's one reading a second. */
export const USAGE_HISTORY_POINTS = 300;

interface Previous {
  clockNs: number;
  busyNsByEntry: Map<number, number>;
}

export class UsageHistory {
  private readonly previous = new Map<string, Previous>();
  private readonly points = new Map<string, UsagePoint[]>();

  constructor(private readonly capacity = USAGE_HISTORY_POINTS) {}

  /** Adds one point per adapter read before (the first reading of an adapter only sets its baseline). */
  observe(adapters: readonly PictureAdapter[], atMs: number): void {
    const seen = new Set<string>();
    for (const a of adapters) {
      seen.add(a.id);
      const busyNsByEntry = new Map(a.slices.map((s) => [s.entry, s.busyNs]));
      const before = this.previous.get(a.id);
      this.previous.set(a.id, { clockNs: a.clockNs, busyNsByEntry });
      const intervalNs = before ? a.clockNs - before.clockNs : 0;
      if (!before || intervalNs <= 0) continue; // first reading, or the clock did not move (restart)
      let busyNs = 0;
      for (const [entry, now] of busyNsByEntry) {
        // A slice created since the last reading counts from zero; a reused entry whose counter went
        // down (released and programmed again) counts from zero too.
        const then = before.busyNsByEntry.get(entry) ?? 0;
        busyNs += now >= then ? now - then : now;
      }
      const percent = Math.min(100, (100 * busyNs) / intervalNs);
      const list = this.points.get(a.id) ?? [];
      list.push({ atMs, percent: Math.round(percent * 10) / 10 });
      if (list.length > this.capacity) list.splice(0, list.length - this.capacity);
      this.points.set(a.id, list);
    }
    for (const id of [...this.previous.keys()]) {
      if (!seen.has(id)) {
        this.previous.delete(id);
        this.points.delete(id);
      }
    }
  }

  history(adapter: string): UsagePoint[] {
    return [...(this.points.get(adapter) ?? [])];
  }
}
