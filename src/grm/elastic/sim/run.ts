// Runs one policy over a trace in virtual time and measures it: pool utilization (units doing work
// over the pool's units), the share allocated, unmet demand (demand above the granted units,
// integrated over time), migrations and bytes migrated, preemptions. No adapter is involved.
import {
  elasticPolicy,
  releaseWhenIdlePolicy,
  type SimCounters,
  type SimPolicy,
  staticPolicy,
} from './policies.js';
import { SimPool } from './pool.js';
import type { Trace } from './trace.js';

export interface SimResult {
  policy: string;
  /** Mean over the run of used units / pool units (used: min(demand, granted) per tenant). */
  utilization: number;
  /** Mean over the run of granted units / pool units. */
  allocatedShare: number;
  /** Demand above granted, integrated over time. */
  unmetUnitHours: number;
  /** unmetUnitHours over all demand integrated over time. */
  unmetShare: number;
  /** Compute slices moved to another adapter to grow. */
  migrations: number;
  /**
   * Bytes copied by those moves: compute slices hold no contents (ra-spec §10: only memory slices
   * are copied by DMA) and no policy here resizes or moves memory, so this is 0 by construction.
   */
  bytesMigrated: number;
  preemptions: { shrinks: number; reclaims: number };
  /** Shrinks of unused units lent to a blocked growth (headroom.ts). */
  lends: number;
  resizes: { grows: number; shrinks: number };
  /** Per bucket of the run: utilization and unmet units (means over the bucket), for plots. */
  series: { hour: number; utilization: number; unmetUnits: number }[];
}

const HOUR_MS = 3_600_000;

export function simulate(trace: Trace, policy: SimPolicy, bucketSteps = 90): SimResult {
  const pool = new SimPool(trace.adapters, trace.unitsPerAdapter);
  const counters: SimCounters = { preemptShrinks: 0, preemptReclaims: 0, lends: 0, grows: 0, shrinks: 0 };
  policy.start(pool, trace);
  let used = 0;
  let allocated = 0;
  let unmet = 0;
  let demanded = 0;
  const series: SimResult['series'] = [];
  let bucket = { used: 0, unmet: 0, steps: 0 };
  for (let i = 0; i < trace.steps; i++) {
    const demand = new Map(trace.tenants.map((t) => [t.id, t.demand[i]!]));
    let stepUsed = 0;
    let stepUnmet = 0;
    for (const t of trace.tenants) {
      const d = demand.get(t.id)!;
      const g = pool.units(t.id);
      stepUsed += Math.min(d, g);
      stepUnmet += Math.max(0, d - g);
      demanded += d;
      allocated += g;
    }
    if (pool.free.some((f) => f < 0))
      throw new Error(`${policy.name}: the pool is over-committed at step ${i}`);
    used += stepUsed;
    unmet += stepUnmet;
    bucket = { used: bucket.used + stepUsed, unmet: bucket.unmet + stepUnmet, steps: bucket.steps + 1 };
    if (bucket.steps === bucketSteps || i === trace.steps - 1) {
      series.push({
        hour: Number((((i + 1) * trace.stepMs) / HOUR_MS).toFixed(3)),
        utilization: bucket.used / bucket.steps / pool.capacity,
        unmetUnits: bucket.unmet / bucket.steps,
      });
      bucket = { used: 0, unmet: 0, steps: 0 };
    }
    policy.afterStep(
      pool,
      { step: i, nowMs: (i + 1) * trace.stepMs, stepMs: trace.stepMs, demand },
      counters,
    );
  }
  const unitSteps = trace.steps * pool.capacity;
  const stepHours = trace.stepMs / HOUR_MS;
  return {
    policy: policy.name,
    utilization: used / unitSteps,
    allocatedShare: allocated / unitSteps,
    unmetUnitHours: unmet * stepHours,
    unmetShare: demanded > 0 ? unmet / demanded : 0,
    migrations: pool.migrations,
    bytesMigrated: 0,
    preemptions: { shrinks: counters.preemptShrinks, reclaims: counters.preemptReclaims },
    lends: counters.lends,
    resizes: { grows: counters.grows, shrinks: counters.shrinks },
    series,
  };
}

/** The comparison's settings: documented in docs/realloc.md with the trace. */
export const DEFAULT_SETTINGS = {
  /** The GRM's idle reclaim limit for release-when-idle. */
  idleReclaimMs: 5 * 60_000,
  elastic: { targetUtilization: 0.7, cooldownMs: 30_000, minShareOfPeak: 0.25 },
};

export function comparePolicies(trace: Trace, settings = DEFAULT_SETTINGS): SimResult[] {
  return [
    simulate(trace, staticPolicy()),
    simulate(trace, releaseWhenIdlePolicy(settings.idleReclaimMs)),
    simulate(trace, elasticPolicy(settings.elastic)),
  ];
}
