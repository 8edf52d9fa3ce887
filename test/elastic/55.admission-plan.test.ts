// The plan of preemption for a new request (src/grm/elastic/admission-plan.ts), against a simple
// what-if model written here: one pool of units, the request fits when free units cover it.
import { describe, expect, it } from 'vitest';
import {
  type AdmissionAction,
  type AdmissionCandidate,
  planAdmission,
} from '../../src/grm/elastic/admission-plan.js';

const cand = (
  id: string,
  priority: number,
  preemptible: boolean,
  size: number,
  min?: number,
): AdmissionCandidate => ({
  id,
  priority,
  preemptible,
  size,
  ...(min === undefined ? {} : { elastic: { resource: 0, units: size, min } }),
});

/** Free units after the actions, in a pool with `free` units free now. */
function fitsWith(free: number, need: number, candidates: readonly AdmissionCandidate[]) {
  return (actions: readonly AdmissionAction[]) => {
    let freed = free;
    for (const a of actions) {
      const c = candidates.find((x) => x.id === a.id)!;
      freed += a.kind === 'reclaim' ? c.size : a.from - a.to;
      if (a.kind === 'shrink') expect(a.to).toBeGreaterThanOrEqual(c.elastic!.min); // never below min
    }
    return freed >= need;
  };
}

describe('admission preemption plan', () => {
  it('fits without preemption: no action', () => {
    expect(planAdmission(5, [cand('a', 0, true, 8, 2)], () => true)).toEqual([]);
  });

  it('shrinks the lowest priority first, only as far as needed', () => {
    const cs = [cand('low', 0, true, 8, 2), cand('mid', 1, true, 8, 2)];
    expect(planAdmission(5, cs, fitsWith(2, 6, cs))).toEqual([
      { kind: 'shrink', id: 'low', resource: 0, from: 8, to: 4 },
    ]);
  });

  it('reclaims when shrinking to the mins is not enough, and drops the shrinks that became needless', () => {
    const cs = [cand('a', 0, true, 8, 4), cand('b', 0, true, 6)];
    // need 12, free 0: shrink a to 4 (4) + reclaim b (6) = 10 < 12; reclaim a (8) + b (6) = 14.
    const plan = planAdmission(5, cs, fitsWith(0, 12, cs))!;
    expect(plan.map((x) => [x.kind, x.id]).sort()).toEqual([
      ['reclaim', 'a'],
      ['reclaim', 'b'],
    ]);
  });

  it('never touches non-preemptible, equal or higher priority; undefined when that is all there is', () => {
    const cs = [cand('fixed', 0, false, 8, 1), cand('equal', 5, true, 8, 1), cand('higher', 9, true, 8, 1)];
    expect(planAdmission(5, cs, fitsWith(0, 1, cs))).toBeUndefined();
  });

  it('undefined (nothing to act on) when everything allowed is not enough', () => {
    const cs = [cand('a', 0, true, 4, 1), cand('b', 0, false, 10)];
    expect(planAdmission(5, cs, fitsWith(1, 6, cs))).toBeUndefined();
  });
});
