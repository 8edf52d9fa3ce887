// Lending unused headroom to a blocked growth (src/grm/elastic/headroom.ts, issue 15): the pure
// decisions, and in the simulator a hand-made trace whose outcome is worked out here by hand.
import { describe, expect, it } from 'vitest';
import { planLending, roomForGrowth, unusedUnits } from '../../src/grm/elastic/headroom.js';
import { elasticPolicy, simulate, type Trace } from '../../src/grm/elastic/sim/index.js';

const holder = (id: string, size: number, usedUnits: number, min = 1) => ({ id, size, usedUnits, min });

describe('unused headroom', () => {
  it('lends only what is above both the min and the units used (rounded up)', () => {
    expect(unusedUnits(holder('a', 8, 2.2))).toBe(5); // keeps 3
    expect(unusedUnits(holder('a', 8, 0, 4))).toBe(4); // keeps its min
    expect(unusedUnits(holder('a', 8, 8))).toBe(0);
    expect(unusedUnits(holder('a', 3, 0, 4))).toBe(0); // below min already: never less
  });

  it('takes from the holders with the most unused first; nobody lends when all of it is not enough', () => {
    const hs = [holder('a', 6, 5), holder('b', 8, 2), holder('c', 4, 1)];
    expect(planLending(5, hs)).toEqual([{ id: 'b', from: 8, to: 3 }]);
    expect(planLending(8, hs)).toEqual([
      { id: 'b', from: 8, to: 2 },
      { id: 'c', from: 4, to: 2 },
    ]);
    expect(planLending(11, hs)).toBeUndefined(); // a 1 + b 6 + c 3 = 10
    expect(planLending(0, hs)).toEqual([]);
  });

  it('grows in place when its own adapter has the room, else moves where the whole new size fits', () => {
    const rooms = [
      { adapter: 'ra0', free: 1, holders: [holder('x', 8, 7)] }, // 1 unused
      { adapter: 'ra1', free: 2, holders: [holder('y', 10, 2)] }, // 8 unused
      { adapter: 'ra2', free: 6, holders: [holder('z', 6, 1)] }, // 5 unused
    ];
    // t holds 4 on ra0 and wants 6: ra0 has 1 free + 1 unused = 2, enough in place.
    expect(roomForGrowth('ra0', 4, 6, rooms)).toEqual({
      adapter: 'ra0',
      lend: [{ id: 'x', from: 8, to: 7 }],
    });
    // wants 9: ra0 cannot give 5; ra1 (10 room) and ra2 (11 room) hold 9: the tighter, ra1, lends 7.
    expect(roomForGrowth('ra0', 4, 9, rooms)).toEqual({
      adapter: 'ra1',
      lend: [{ id: 'y', from: 10, to: 3 }],
    });
    expect(roomForGrowth('ra0', 4, 12, rooms)).toBeUndefined();
  });
});

describe('the simulator lends unused units to a saturated tenant', () => {
  it('a busy tenant takes the units an idle one holds above its min; the idle one keeps its min', () => {
    // One adapter of 8. "idle" starts at min 2 and is busy (demand 6) for 60 steps, then idle: its
    // size stays up for the shrink stabilization window. "busy" needs 6 from step 60 on: it can only
    // get there with units "idle" holds but does not use.
    const steps = 200;
    const trace: Trace = {
      seed: 0,
      stepMs: 10_000,
      steps,
      adapters: 1,
      unitsPerAdapter: 8,
      tenants: [
        {
          id: 'idle',
          className: 'hand',
          peakUnits: 6,
          priority: 10,
          preemptible: false,
          demand: [...Array(60).fill(6), ...Array(steps - 60).fill(0)],
        },
        {
          id: 'busy',
          className: 'hand',
          peakUnits: 6,
          priority: 0,
          preemptible: false,
          demand: [...Array(60).fill(0), ...Array(steps - 60).fill(6)],
        },
      ],
    };
    const r = simulate(
      trace,
      elasticPolicy({ targetUtilization: 0.7, cooldownMs: 300_000, minShareOfPeak: 0.25 }),
    );
    // Without lending, "idle" (priority 10, not preemptible) holds 6 for its cooldown of 5 minutes:
    // "busy" could not reach 6 before step 90. With it, busy takes the units at once.
    expect(r.lends).toBeGreaterThan(0);
    expect(r.series.at(-1)!.unmetUnits).toBe(0);
    expect(r.unmetUnitHours).toBeLessThan((6 * 6 * 10_000) / 3_600_000); // less than 6 periods of 6 units
  });
});
