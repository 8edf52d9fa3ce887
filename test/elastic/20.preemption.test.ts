// Priorities and preemption (src/grm/elastic/preemption.ts): shrink lower-priority elastic holders to
// their min first, reclaim preemptible ones next, never touch non-preemptible or equal-priority ones,
// and do nothing when the request cannot be admitted anyway.
import { describe, expect, it } from 'vitest';
import { type Holder, planPreemption } from '../../src/grm/elastic/index.js';
import { Prng } from '../helpers/prng.js';

describe('preemption', () => {
  it('shrinks a lower-priority elastic holder, only as far as needed', () => {
    const plan = planPreemption(3, 5, [{ id: 'a', priority: 1, preemptible: true, size: 8, min: 2 }]);
    expect(plan).toEqual({ actions: [{ kind: 'shrink', id: 'a', from: 8, to: 5 }], freed: 3 });
  });

  it('never shrinks below min: reclaims a preemptible holder when shrinking is not enough', () => {
    const holders: Holder[] = [
      { id: 'a', priority: 1, preemptible: true, size: 8, min: 4 },
      { id: 'b', priority: 0, preemptible: true, size: 3 },
    ];
    const plan = planPreemption(6, 5, holders)!;
    // a gives 4 (down to its min), b is reclaimed for the rest; a's shrink is only what b did not cover.
    expect(plan.actions).toContainEqual({ kind: 'reclaim', id: 'b', size: 3 });
    const a = plan.actions.find((x) => x.id === 'a');
    expect(a).toEqual({ kind: 'shrink', id: 'a', from: 8, to: 5 });
    expect(plan.freed).toBe(6);
  });

  it('non-preemptible untouched, equal priority untouched; nothing done when not enough', () => {
    const holders: Holder[] = [
      { id: 'fixed', priority: 0, preemptible: false, size: 10, min: 1 },
      { id: 'peer', priority: 5, preemptible: true, size: 10, min: 1 },
      { id: 'low', priority: 1, preemptible: true, size: 2, min: 1 },
    ];
    expect(planPreemption(5, 5, holders)).toBeUndefined();
    const plan = planPreemption(1, 5, holders)!;
    expect(plan.actions).toEqual([{ kind: 'shrink', id: 'low', from: 2, to: 1 }]);
  });

  it('on random pools: frees enough, never touches the untouchable, never leaves an elastic holder below min', () => {
    const rng = new Prng(1515);
    for (let trial = 0; trial < 500; trial++) {
      const holders: Holder[] = Array.from({ length: rng.int(0, 8) }, (_, i) => {
        const size = rng.int(1, 16);
        return {
          id: `h${i}`,
          priority: rng.int(0, 4),
          preemptible: rng.chance(0.6),
          size,
          ...(rng.chance(0.6) ? { min: rng.int(1, size) } : {}),
        };
      });
      const priority = rng.int(0, 5);
      const need = rng.int(1, 30);
      const plan = planPreemption(need, priority, holders);
      const allowed = holders.filter((h) => h.preemptible && h.priority < priority);
      const available = allowed.reduce((n, h) => n + h.size, 0);
      if (!plan) {
        expect(available).toBeLessThan(need);
        continue;
      }
      let freed = 0;
      for (const a of plan.actions) {
        const h = holders.find((x) => x.id === a.id)!;
        expect(h.preemptible).toBe(true);
        expect(h.priority).toBeLessThan(priority);
        if (a.kind === 'shrink') {
          expect(h.min).toBeDefined();
          expect(a.to).toBeGreaterThanOrEqual(h.min!);
          expect(a.to).toBeLessThan(a.from);
          freed += a.from - a.to;
        } else freed += a.size;
      }
      expect(freed).toBe(plan.freed);
      expect(freed).toBeGreaterThanOrEqual(need);
    }
  });
});
