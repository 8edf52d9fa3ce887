// The workload simulator (src/grm/elastic/sim): its measures checked on hand-made traces whose figures
// are worked out here by hand, its pool model against an independent tally, and its default trace for
// the shape docs/realloc.md describes.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  elasticPolicy,
  makeTrace,
  releaseWhenIdlePolicy,
  SimPool,
  simulate,
  staticPolicy,
  type Trace,
} from '../../src/grm/elastic/sim/index.js';
import { Prng } from '../helpers/prng.js';

const STEP_MS = 10_000;
const HOUR_STEPS = 360;

function handTrace(
  tenants: { id: string; peakUnits: number; demand: number[]; priority?: number; preemptible?: boolean }[],
): Trace {
  return {
    seed: 0,
    stepMs: STEP_MS,
    steps: tenants[0]!.demand.length,
    adapters: 2,
    unitsPerAdapter: 8,
    tenants: tenants.map((t) => ({ className: 'hand', priority: 0, preemptible: false, ...t })),
  };
}

describe('workload simulator', () => {
  it('static: a constant demand that fits is all met; utilization is demand over the pool', () => {
    const trace = handTrace([{ id: 'a', peakUnits: 6, demand: Array(HOUR_STEPS).fill(4) }]);
    const r = simulate(trace, staticPolicy());
    expect(r.utilization).toBeCloseTo(4 / 16);
    expect(r.allocatedShare).toBeCloseTo(6 / 16);
    expect(r.unmetUnitHours).toBe(0);
  });

  it('static: a tenant that does not fit waits the whole run, all its demand unmet', () => {
    const trace = handTrace([
      { id: 'a', peakUnits: 8, demand: Array(HOUR_STEPS).fill(8) },
      { id: 'b', peakUnits: 8, demand: Array(HOUR_STEPS).fill(8) },
      { id: 'c', peakUnits: 8, demand: Array(HOUR_STEPS).fill(2) },
    ]);
    const r = simulate(trace, staticPolicy());
    expect(r.unmetUnitHours).toBeCloseTo(2); // c: 2 units for 1 hour
    expect(r.utilization).toBeCloseTo(16 / 16);
  });

  it('release-when-idle: one period of lag per busy start, release after the idle limit', () => {
    // 10 busy steps, 60 idle steps (10 min), 10 busy steps.
    const demand = [...Array(10).fill(3), ...Array(60).fill(0), ...Array(10).fill(3)];
    const trace = handTrace([{ id: 'a', peakUnits: 4, demand }]);
    const r = simulate(trace, releaseWhenIdlePolicy(5 * 60_000));
    // Granted at the start; after the release, not granted during the first step of the second busy
    // period (it asks at the end of that step): 1 step × 3 units.
    expect(r.unmetUnitHours).toBeCloseTo((3 * STEP_MS) / 3_600_000);
    // Held for 10 busy steps + 30 idle steps (5 min) + 9 busy steps.
    expect(r.allocatedShare).toBeCloseTo((4 * (10 + 30 + 9)) / (16 * 80));
  });

  it('elastic: grows a busy tenant within a few periods, shrinks it to min when idle, never below', () => {
    const demand = [...Array(30).fill(0), ...Array(60).fill(6), ...Array(120).fill(0)];
    const trace = handTrace([{ id: 'a', peakUnits: 8, demand }]);
    const r = simulate(
      trace,
      elasticPolicy({ targetUtilization: 0.7, cooldownMs: 30_000, minShareOfPeak: 0.25 }),
    );
    expect(r.resizes.grows).toBeGreaterThan(0);
    expect(r.resizes.shrinks).toBeGreaterThan(0);
    // min 2, so 4 units unmet at the first busy step; growth 2 -> 3 -> 5 -> 8 over three periods.
    expect(r.unmetUnitHours * 3_600_000).toBeLessThanOrEqual((4 + 3 + 1) * STEP_MS + 1e-6);
    const lastBucket = r.series.at(-1)!;
    expect(lastBucket.unmetUnits).toBe(0);
    // Back at min (2 of 16 units) by the end: allocated share over the run stays below a full hold.
    expect(r.allocatedShare).toBeLessThan(8 / 16);
  });

  it('elastic: a high-priority tenant preempts a preemptible low-priority one, never a non-preemptible one', () => {
    const busy = Array(HOUR_STEPS).fill(8);
    const trace = handTrace([
      { id: 'batch', peakUnits: 8, demand: busy, priority: 0, preemptible: true },
      { id: 'fixed', peakUnits: 8, demand: busy, priority: 0, preemptible: false },
      {
        id: 'svc',
        peakUnits: 8,
        demand: [...Array(30).fill(0), ...Array(HOUR_STEPS - 30).fill(8)],
        priority: 10,
      },
    ]);
    const r = simulate(
      trace,
      elasticPolicy({ targetUtilization: 0.7, cooldownMs: 30_000, minShareOfPeak: 0.25 }),
    );
    expect(r.preemptions.shrinks + r.preemptions.reclaims).toBeGreaterThan(0);
    // 24 units of demand on 16: at the end the pool is fully used and exactly the preemptible
    // tenant's 8 are unmet (svc took them; fixed kept its 8).
    expect(r.series.at(-1)!.unmetUnits).toBeCloseTo(8);
    expect(r.series.at(-1)!.utilization).toBeCloseTo(1);
  });

  it('the pool model never over-commits and agrees with an independent tally (seeded random operations)', () => {
    const rng = new Prng(30);
    const pool = new SimPool(3, 16);
    const tally = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const id = `t${rng.int(0, 9)}`;
      const op = rng.int(0, 3);
      if (!pool.held.has(id)) {
        if (pool.place(id, rng.int(1, 16))) tally.set(id, pool.units(id));
      } else if (op === 0) {
        pool.release(id);
        tally.delete(id);
      } else if (op === 1) {
        const before = pool.units(id);
        const got = pool.grow(id, before + rng.int(1, 8));
        expect(got).toBeGreaterThanOrEqual(before);
        tally.set(id, got);
      } else {
        const to = rng.int(1, pool.units(id));
        pool.shrink(id, to);
        tally.set(id, to);
      }
      expect(pool.free.every((f) => f >= 0 && f <= 16)).toBe(true);
      const heldUnits = [...tally.values()].reduce((a, b) => a + b, 0);
      expect(pool.free.reduce((a, b) => a + b, 0)).toBe(48 - heldUnits);
      for (const [a, h] of pool.held) expect(h.units).toBe(tally.get(a));
    }
  });

  it('the default trace has the documented shape and is the same on every run', () => {
    const t = makeTrace();
    expect(t.tenants).toHaveLength(16);
    expect(t.tenants.reduce((n, x) => n + x.peakUnits, 0)).toBe(117);
    const mean = t.tenants.reduce((n, x) => n + x.demand.reduce((a, b) => a + b, 0), 0) / t.steps;
    expect(mean).toBeGreaterThan(25);
    expect(mean).toBeLessThan(35);
    for (let i = 0; i < t.steps; i++)
      expect(t.tenants.reduce((n, x) => n + x.demand[i]!, 0)).toBeLessThanOrEqual(
        t.adapters * t.unitsPerAdapter,
      );
    expect(makeTrace()).toEqual(t);
    expect(DEFAULT_SETTINGS.elastic.targetUtilization).toBe(0.7);
  });
});
