// Runs the one table of named placement cases (cases.ts) against every strategy, and checks that each
// successful outcome, once applied, leaves an inventory with no overlap and nothing lost.
import { describe, expect, it } from 'vitest';
import {
  AvailabilityIndex,
  applyPlan,
  applyResize,
  buildAvailability,
  type Inventory,
  type PlacementStrategy,
  type PlanResult,
  planGrow,
  planMigration,
  planShrink,
  type ResizeResult,
  strategies,
} from '../../src/rvl/index.js';
import { cases, type Operation, type Outcome } from './cases.js';
import { expectConservation, expectNoOverlap } from './invariants.js';

function run(inventory: Inventory, op: Operation, strategy: PlacementStrategy): PlanResult | ResizeResult {
  const av = buildAvailability(inventory);
  if ('plan' in op) return strategy.plan(av, op.plan);
  if ('grow' in op) return planGrow(av, op.grow.slice, op.grow.length, { ...op.grow.options, strategy });
  if ('shrink' in op) return { ok: true, plan: planShrink(av, op.shrink.slice, op.shrink.length) };
  return planMigration(av, op.migrate.slice, op.migrate.targets, { strategy });
}

/** The same operation against the live index (built from the inventory), planning with `strategy`. */
function runOnIndex(
  inventory: Inventory,
  op: Operation,
  strategy: PlacementStrategy,
): PlanResult | ResizeResult {
  const index = AvailabilityIndex.fromInventory(inventory);
  if ('plan' in op) return index.plan(op.plan, strategy);
  if ('grow' in op) return index.planGrow(op.grow.slice, op.grow.length, { ...op.grow.options, strategy });
  if ('shrink' in op) return { ok: true, plan: index.planShrink(op.shrink.slice, op.shrink.length) };
  return index.planMigration(op.migrate.slice, op.migrate.targets, { strategy });
}

/** Matches the listed fields; a field listed as undefined must be absent (e.g. no bitstream to load). */
function expectPlacement(actual: object | undefined, expected: Record<string, unknown>): void {
  const present = Object.entries(expected).filter(([, value]) => value !== undefined);
  expect(actual).toMatchObject(Object.fromEntries(present));
  for (const [key, value] of Object.entries(expected))
    if (value === undefined) expect(actual).not.toHaveProperty(key);
}

function check(inventory: Inventory, result: PlanResult | ResizeResult, expected: Outcome): void {
  if ('fails' in expected) {
    expect(result.ok, 'expected the placement to fail').toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe('RESOURCE_UNAVAILABLE');
    expect(result.details).toMatchObject(expected.fails);
    expect(result.details.message).toMatch(/\S/);
    return;
  }
  if (!result.ok) throw new Error(`expected success, got: ${result.details.message}`);
  let after: Inventory;
  const plan = result.plan;
  if ('placements' in expected) {
    if (!('placements' in plan)) throw new Error('expected a placement plan');
    expect(plan.placements).toHaveLength(expected.placements.length);
    for (const [i, p] of expected.placements.entries()) expectPlacement(plan.placements[i], p);
    expect(plan.alternatives).toEqual(expected.alternatives);
    expect(plan.monitors).toEqual(expected.monitors);
    after = applyPlan(inventory, plan, 'new');
  } else {
    if ('placements' in plan) throw new Error('expected a resize plan');
    expect(plan).toMatchObject(expected.resize);
    after = applyResize(inventory, plan);
  }
  expectNoOverlap(after);
  expectConservation(after);
}

describe('placement cases', () => {
  for (const c of cases) {
    describe(c.name, () => {
      for (const strategy of strategies) {
        it(strategy.name, () => {
          const before = structuredClone(c.inventory);
          const result = run(c.inventory, c.op, strategy);
          check(
            c.inventory,
            result,
            strategy.name === 'firstFit' ? (c.firstFit ?? c.preferred) : c.preferred,
          );
          expect(c.inventory, 'planning must not modify its input').toEqual(before);
          expect(run(c.inventory, c.op, strategy), 'planning is deterministic').toEqual(result);
        });
        it(`live index, ${strategy.name}`, () => {
          const before = structuredClone(c.inventory);
          const result = runOnIndex(c.inventory, c.op, strategy);
          check(
            c.inventory,
            result,
            strategy.name === 'firstFit' ? (c.firstFit ?? c.preferred) : c.preferred,
          );
          expect(c.inventory, 'indexing must not modify its input').toEqual(before);
          // The index answers exactly what the from-scratch strategy answers on the same state.
          expect(result).toEqual(run(c.inventory, c.op, strategy));
        });
      }
    });
  }
});
