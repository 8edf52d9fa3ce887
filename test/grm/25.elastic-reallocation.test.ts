// Elastic allocations on the embedded pool (issue 15): the reallocation pass grows a busy compute
// allocation and shrinks an idle one to its min, preempts a lower-priority preemptible allocation and
// never a non-preemptible one. Sizes are read from the adapters' slice tables, not from the GRM.
import { afterEach, describe, expect, it } from 'vitest';
import { growBusyStep, shrinkIdleStep } from '../../src/grm/elastic/demo-steps.js';
import { type ReallocationPolicy, reallocateOnce } from '../../src/grm/reallocator.js';
import type { Allocation } from '../../src/grm/types.js';
import { Prng } from '../helpers/prng.js';
import { readSliceTables, useEmbedded } from './helpers.js';

/** The units of the allocation's compute slice as the adapter's registers hold them (ra-spec §10). */
function unitsInRegisters(modelDir: string, adapters: number, a: Allocation, resource = 0): number {
  const p = a.resources[resource]!.placements[0]!;
  const index = Number(p.adapter.split('/ra')[1]);
  const slice = readSliceTables(modelDir, adapters).find((s) => s.adapter === index && s.entry === p.slice);
  if (slice?.kind !== 'compute') throw new Error(`no compute slice ${p.adapter}#${p.slice} in the registers`);
  return slice.length;
}

const PERIOD_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('elastic reallocation on the embedded pool', () => {
  const ctx = useEmbedded(1);
  const grm = () => ctx.pool.grm;
  const pass = (policy?: ReallocationPolicy) =>
    grm().exclusive(() => reallocateOnce(grm(), Date.now(), policy));
  /** The allocation as the GRM holds it now (its placement may have moved). */
  const fresh = (a: Allocation) => grm().get('alice', a.id);
  const units = (a: Allocation) => unitsInRegisters(ctx.pool.modelDir, 1, fresh(a));

  afterEach(async () => {
    for (const a of grm().list('alice'))
      await grm()
        .release('alice', a.id)
        .catch(() => undefined);
  });

  /**
   * Runs matmul jobs on `a` back to back until stop() is called (the load). A job that fails is
   * recorded, not thrown: a job racing a migration of its compute slice fails (see the preemption test).
   */
  function load(a: Allocation): { failures: string[]; stop(): Promise<void> } {
    const rng = new Prng(25);
    const [m, n, k] = [192, 192, 192];
    const input = Buffer.from(Float32Array.from({ length: m * k + k * n }, () => rng.next()).buffer).toString(
      'base64',
    );
    let running = true;
    const failures: string[] = [];
    const loop = (async () => {
      while (running)
        await grm()
          .runJob('alice', a.id, { function: 'matmul-f32', params: { m, n, k }, input })
          .catch((err: Error) => failures.push(err.message));
    })();
    return {
      failures,
      async stop() {
        running = false;
        await loop;
      },
    };
  }

  it('grows a busy compute allocation within 2 reallocation periods of the load change', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'compute', units: 2 }],
      policy: { elastic: { compute: { min: 1, max: 8, targetUtilization: 0.5, cooldownMs: 60_000 } } },
    });
    expect(units(a)).toBe(2);
    await pass(); // the window's start: nothing decided from a first sample
    await sleep(PERIOD_MS);
    await pass(); // idle, but within the cooldown of its creation: no shrink
    expect(units(a)).toBe(2);
    const busy = load(a);
    try {
      let grownAfter = 0;
      for (let period = 1; period <= 2 && grownAfter === 0; period++) {
        await sleep(PERIOD_MS);
        await pass();
        if (units(a) > 2) grownAfter = period;
      }
      expect(grownAfter, 'grown within 2 reallocation periods').toBeGreaterThan(0);
      expect(units(a)).toBeLessThanOrEqual(8);
      expect(fresh(a).resources[0]!.units).toBe(units(a));
      const grew = grm()
        .maintenance.events.of(a.id)
        .find((e) => e.action === 'grew');
      expect(grew).toMatchObject({ resource: 0, from: 2, to: units(a) });
    } finally {
      await busy.stop();
    }
  });

  it('shrinks an idle compute allocation to its min, never below, and keeps it (no release)', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'compute', units: 6 }],
      policy: {
        idleReclaimMs: 100,
        elastic: { compute: { min: 2, max: 8, targetUtilization: 0.6, cooldownMs: 100 } },
      },
    });
    await pass();
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      await pass();
    }
    expect(units(a)).toBe(2);
    expect(fresh(a).state).toBe('active');
    expect(
      grm()
        .maintenance.events.of(a.id)
        .map((e) => e.action),
    ).toEqual(['shrank']);
  });

  it('release-when-idle stays selectable: the same idle elastic allocation is released, not resized', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'compute', units: 6 }],
      policy: {
        idleReclaimMs: 100,
        elastic: { compute: { min: 2, max: 8, targetUtilization: 0.6, cooldownMs: 100 } },
      },
    });
    await pass('release-when-idle');
    await sleep(250);
    const events = await pass('release-when-idle');
    expect(events).toContainEqual(expect.objectContaining({ allocation: a.id, action: 'idle-reclaimed' }));
    expect(readSliceTables(ctx.pool.modelDir, 1)).toEqual([]);
  });

  /** Allocates compute units in order on the one adapter (each lands after the previous). */
  async function computeAt(units: number, policy: Record<string, unknown>): Promise<Allocation> {
    return grm().allocate('alice', { resources: [{ kind: 'compute', units }], policy });
  }

  it('preempts for a higher priority: shrinks the preemptible one to no less than its min, non-preemptible untouched', async () => {
    // Units 0-1 high, 2-9 low (elastic 6..8, preemptible), 10-11 free, 12-15 fixed.
    const high = await computeAt(2, {
      priority: 10,
      elastic: { compute: { min: 2, max: 4, targetUtilization: 0.3, cooldownMs: 60_000 } },
    });
    const low = await computeAt(8, {
      priority: 1,
      preemptible: true,
      elastic: { compute: { min: 6, max: 8, targetUtilization: 0.9, cooldownMs: 60_000 } },
    });
    const filler = await computeAt(2, {});
    const fixed = await computeAt(4, { priority: 0, preemptible: false });
    await grm().release('alice', filler.id);
    await pass();
    const busy = load(high);
    try {
      await sleep(PERIOD_MS);
      await pass();
      await sleep(PERIOD_MS);
      await pass();
    } finally {
      await busy.stop();
    }
    // high wants 4: 2 free units are not next to it, so low gives 2 above its min and high moves
    // into the 4 contiguous units that makes.
    expect(units(low)).toBe(6);
    expect(units(fixed)).toBe(4);
    expect(units(high)).toBe(4);
    expect(grm().maintenance.events.of(low.id)).toEqual([
      expect.objectContaining({ action: 'preempted-shrink', from: 8, to: 6 }),
    ]);
    expect(grm().maintenance.events.of(fixed.id)).toEqual([]);
    expect(grm().maintenance.events.of(high.id)).toEqual([
      expect.objectContaining({ action: 'grew', from: 2, to: 4 }),
    ]);
    // Jobs that raced the move of high's slice, if any, are the known race of runJob with a migration:
    // among them a job sent to the old slice once it was drained for the move, which the adapter
    // refuses with SLICE_STATE (ra-spec §5.4, CMD_SLICE_DRAIN). Under load the window is wide enough
    // to catch one (1 run in 3 at a load average of 17 on 2 cores).
    expect(
      busy.failures.every((f) => /FUNCTION|does not exist|migrat|SLICE_STATE/i.test(f)),
      busy.failures.join('; '),
    ).toBe(true);
  });

  it('reclaims a preemptible allocation when shrinking is not enough; the non-preemptible one untouched', async () => {
    // Units 0-1 high, 2-11 low (preemptible, not elastic), 12-15 fixed.
    const high = await computeAt(2, {
      priority: 10,
      elastic: { compute: { min: 2, max: 8, targetUtilization: 0.3, cooldownMs: 60_000 } },
    });
    const low = await computeAt(10, { priority: 1, preemptible: true });
    const fixed = await computeAt(4, { priority: 0, preemptible: false });
    await pass();
    const busy = load(high);
    try {
      await sleep(PERIOD_MS);
      await pass();
    } finally {
      await busy.stop();
    }
    expect(
      grm()
        .list('alice')
        .map((a) => a.id),
    ).not.toContain(low.id);
    expect(units(fixed)).toBe(4);
    expect(units(high)).toBe(7); // ceil(2 × 1 / 0.3): grown in place into low's units
    expect(busy.failures).toEqual([]);
    expect(
      readSliceTables(ctx.pool.modelDir, 1)
        .map((x) => x.length)
        .sort((x, y) => x - y),
    ).toEqual([4, 7]);
    // The reclaimed tenant reads why, though its allocation is gone; another tenant cannot.
    expect(grm().allocationEvents('alice', low.id)).toEqual([
      expect.objectContaining({ action: 'preempted-reclaim' }),
    ]);
    expect(() => grm().allocationEvents('bob', low.id)).toThrow(/does not exist/);
    expect(grm().maintenance.events.of(fixed.id)).toEqual([]);
  });

  it('the demo steps compute their checks from the slice tables', async () => {
    const grow = await growBusyStep(grm(), 'alice');
    expect(grow).toMatchObject({ check: 'pass', unitsBefore: 2 });
    expect(grow.unitsAfter).toBeGreaterThan(2);
    const shrink = await shrinkIdleStep(grm(), 'alice');
    expect(shrink).toMatchObject({ check: 'pass', unitsBefore: 6, unitsAfter: 2 });
    expect(readSliceTables(ctx.pool.modelDir, 1)).toEqual([]);
  });
});
