// The simulator's workload: a seeded trace of tenants whose compute demand varies over time. Shape
// (docs/realloc.md "The default trace"): each tenant alternates busy and idle periods (exponential
// lengths, means per tenant class); while busy, its demand is a level drawn between 30% and 100% of
// its peak that changes every few minutes; while idle it is 0. Every tenant asks a static allocation
// for its peak (what it would reserve without elasticity), so the peaks together oversubscribe the
// pool while the mean demand stays below it — the situation a shared pool exists for.

import { Prng } from '../../../common/prng.js';

export interface TenantClass {
  name: string;
  /** Peak demand range, compute units. */
  peakUnits: [number, number];
  busyMeanMs: number;
  idleMeanMs: number;
  /** How often the busy level changes. */
  levelMeanMs: number;
  priority: number;
  preemptible: boolean;
}

export interface SimTenant {
  id: string;
  className: string;
  peakUnits: number;
  priority: number;
  preemptible: boolean;
  /** Demand in compute units at each step of the trace (demand[i] holds over [i, i+1) × stepMs). */
  demand: number[];
}

export interface Trace {
  seed: number;
  stepMs: number;
  steps: number;
  adapters: number;
  unitsPerAdapter: number;
  tenants: SimTenant[];
}

export interface TraceOptions {
  seed: number;
  durationMs: number;
  stepMs: number;
  adapters: number;
  unitsPerAdapter: number;
  classes: { class: TenantClass; count: number }[];
}

const MINUTE_MS = 60_000;

/** The default: 4 adapters of 16 units, 8 hours at 10 s steps, 16 tenants of three classes. */
export const DEFAULT_TRACE: TraceOptions = {
  seed: 15,
  durationMs: 8 * 60 * MINUTE_MS,
  stepMs: 10_000,
  adapters: 4,
  unitsPerAdapter: 16,
  classes: [
    {
      // Inference services: long busy periods, short pauses, high priority, not preemptible.
      class: {
        name: 'service',
        peakUnits: [4, 8],
        busyMeanMs: 60 * MINUTE_MS,
        idleMeanMs: 20 * MINUTE_MS,
        levelMeanMs: 5 * MINUTE_MS,
        priority: 10,
        preemptible: false,
      },
      count: 4,
    },
    {
      // Interactive notebooks: short bursts, long idle stretches.
      class: {
        name: 'interactive',
        peakUnits: [2, 8],
        busyMeanMs: 10 * MINUTE_MS,
        idleMeanMs: 30 * MINUTE_MS,
        levelMeanMs: 2 * MINUTE_MS,
        priority: 5,
        preemptible: false,
      },
      count: 8,
    },
    {
      // Batch training/ETL: big, bursty, low priority, preemptible.
      class: {
        name: 'batch',
        peakUnits: [8, 16],
        busyMeanMs: 40 * MINUTE_MS,
        idleMeanMs: 60 * MINUTE_MS,
        levelMeanMs: 10 * MINUTE_MS,
        priority: 0,
        preemptible: true,
      },
      count: 4,
    },
  ],
};

function demandOf(c: TenantClass, peakUnits: number, steps: number, stepMs: number, rng: Prng): number[] {
  const demand: number[] = [];
  // Start in a random phase: busy with the long-run probability of being busy.
  let busy = rng.next() < c.busyMeanMs / (c.busyMeanMs + c.idleMeanMs);
  let phaseEnds = rng.exponential(busy ? c.busyMeanMs : c.idleMeanMs);
  let level = 0;
  let levelEnds = 0;
  for (let i = 0; i < steps; i++) {
    const t = i * stepMs;
    while (t >= phaseEnds) {
      busy = !busy;
      phaseEnds += rng.exponential(busy ? c.busyMeanMs : c.idleMeanMs);
      levelEnds = t;
    }
    if (busy && t >= levelEnds) {
      level = peakUnits * (0.3 + 0.7 * rng.next());
      levelEnds = t + rng.exponential(c.levelMeanMs);
    }
    demand.push(busy ? Number(level.toFixed(3)) : 0);
  }
  return demand;
}

export function makeTrace(o: TraceOptions = DEFAULT_TRACE): Trace {
  const rng = new Prng(o.seed);
  const steps = Math.round(o.durationMs / o.stepMs);
  const tenants: SimTenant[] = [];
  for (const { class: c, count } of o.classes) {
    for (let k = 0; k < count; k++) {
      const peakUnits = rng.int(c.peakUnits[0], c.peakUnits[1]);
      tenants.push({
        id: `${c.name}-${k}`,
        className: c.name,
        peakUnits,
        priority: c.priority,
        preemptible: c.preemptible,
        demand: demandOf(c, peakUnits, steps, o.stepMs, rng),
      });
    }
  }
  return {
    seed: o.seed,
    stepMs: o.stepMs,
    steps,
    adapters: o.adapters,
    unitsPerAdapter: o.unitsPerAdapter,
    tenants,
  };
}
