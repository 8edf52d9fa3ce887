// Property test: random pools and random sequences of requests, releases, grows, shrinks and migrations
// (seeded, reproducible). After every step the inventory has no overlapping slices and free + allocated
// == total for every resource; every plan obeys its request's policy.
import { describe, expect, it } from 'vitest';
import {
  applyPlan,
  applyResize,
  buildAvailability,
  type Inventory,
  type PlacementStrategy,
  type PlanResult,
  planGrow,
  planMigration,
  planShrink,
  preferred,
  releaseAllocation,
  strategies,
} from '../../src/rvl/index.js';
import { Prng } from '../helpers/prng.js';
import { MiB } from './fixtures.js';
import { expectConservation, expectNoOverlap } from './invariants.js';
import { randomAdapter, randomRequest } from './random.js';

const SEEDS = 40;
const STEPS = 60;

/** What every successful plan must respect, whatever the strategy. */
function expectPlanObeys(
  inv: Inventory,
  request: ReturnType<typeof randomRequest>,
  result: PlanResult,
): void {
  if (!result.ok) {
    expect(result.details.resourceIndex).toBeLessThan(request.resources.length);
    expect(result.details.message).toMatch(/\S/);
    return;
  }
  const byId = new Map(inv.adapters.map((a) => [a.id, a]));
  const { placements } = result.plan;
  for (const p of placements) {
    const a = byId.get(p.adapter)!;
    expect(a.health).not.toBe('unhealthy');
    if (a.health === 'degraded') expect(request.policy.allowDegraded).toBe(true);
    if (p.kind === 'memory') {
      expect(p.base % a.memoryAlignBytes).toBe(0);
      expect(p.length % a.memoryAlignBytes).toBe(0);
      expect(p.bytes).toBeLessThanOrEqual(p.length);
    }
  }
  if (request.policy.maxAdapters !== undefined) {
    expect(new Set(placements.map((p) => p.adapter)).size).toBeLessThanOrEqual(
      request.policy.maxAdapters as number,
    );
  }
  for (const [i, r] of request.resources.entries()) {
    const mine = placements.filter((p) => p.resourceIndex === i);
    if (r.kind === 'memory') expect(mine.reduce((s, p) => s + p.bytes!, 0)).toBe(r.bytes);
    else if (r.kind === 'compute') expect(mine.reduce((s, p) => s + p.units!, 0)).toBe(r.units);
    else expect(mine).toHaveLength(1);
    if (request.policy.allowSplit === false) expect(mine).toHaveLength(1);
  }
}

function step(rng: Prng, inv: Inventory, strategy: PlacementStrategy, n: number): Inventory {
  const av = buildAvailability(inv);
  const resizable = inv.slices.filter((s) => s.kind !== 'context');
  const roll = rng.int(0, 9);
  if (roll <= 4 || inv.slices.length === 0) {
    const request = randomRequest(rng);
    const result = strategy.plan(av, request);
    expectPlanObeys(inv, request, result);
    expect(strategy.plan(av, request)).toEqual(result);
    // The combination search is exact: wherever the baseline fits one resource, preferred fits it too.
    if (request.resources.length === 1 && result.ok) expect(preferred.plan(av, request).ok).toBe(true);
    return result.ok ? applyPlan(inv, result.plan, `al${n}`) : inv;
  }
  if (roll <= 6) return releaseAllocation(inv, rng.pick(inv.slices).allocation);
  if (resizable.length === 0) return inv;
  const slice = rng.pick(resizable);
  if (roll === 7) {
    const result = planGrow(av, slice, slice.length + rng.int(1, 32 * MiB), { strategy });
    return result.ok ? applyResize(inv, result.plan) : inv;
  }
  if (roll === 8) return applyResize(inv, planShrink(av, slice, rng.int(1, slice.length)));
  const targets = inv.adapters.filter(() => rng.chance(0.6)).map((a) => a.id);
  if (targets.length === 0) return inv;
  const result = planMigration(av, slice, targets, { strategy, allowDegraded: rng.chance(0.5) });
  if (result.ok) expect(targets).toContain(result.plan.kind === 'migrate' && result.plan.to.adapter);
  return result.ok ? applyResize(inv, result.plan) : inv;
}

describe('property: random pools and request sequences', () => {
  for (const strategy of strategies) {
    it(`${strategy.name}: no overlap, nothing lost, policy obeyed (${SEEDS} seeds x ${STEPS} steps)`, () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const rng = new Prng(seed);
        let inv: Inventory = {
          adapters: Array.from({ length: rng.int(1, 5) }, (_, i) => randomAdapter(rng, i)),
          slices: [],
        };
        for (let n = 0; n < STEPS; n++) {
          try {
            inv = step(rng, inv, strategy, n);
            expectNoOverlap(inv);
            expectConservation(inv);
          } catch (e) {
            throw new Error(`seed ${seed}, step ${n}: ${(e as Error).message}`);
          }
        }
      }
    });
  }
});
