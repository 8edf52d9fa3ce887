// The preferences of the `preferred` strategy, in one place. A score is a tuple compared
// lexicographically, lower is better; candidates are generated in adapter-id then base order and the
// first of equal scores wins, so every plan is deterministic.
import type { AdapterAvailability } from './availability.js';
import type { ResourceContext } from './plan.js';

export function compareScores(x: readonly number[], y: readonly number[]): number {
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The first candidate with the lowest score. */
export function pickBest<T>(candidates: Iterable<T>, score: (c: T) => number[]): T | undefined {
  let best: T | undefined;
  let bestScore: number[] = [];
  for (const c of candidates) {
    const s = score(c);
    if (best === undefined || compareScores(s, bestScore) < 0) {
      best = c;
      bestScore = s;
    }
  }
  return best;
}

/** 1 when the request names the instance's server and this adapter is elsewhere (data crosses the fabric). */
export function remote(a: AdapterAvailability, context: ResourceContext): number {
  const server = context.policy.sameServer;
  return server !== undefined && a.server !== server ? 1 : 0;
}

/** 1 when the adapter is not yet used by this request: fewer adapters = fewer to configure and roll back. */
export function added(a: AdapterAvailability, context: ResourceContext): number {
  return context.used.has(a.id) ? 0 : 1;
}

/**
 * Adapter-level part of every score: same server first, then fewest adapters (reuse one the request
 * already touches), then healthy before degraded. Fragmentation terms follow it per resource kind.
 */
export function adapterScore(a: AdapterAvailability, context: ResourceContext): number[] {
  return [remote(a, context), added(a, context), a.health === 'degraded' ? 1 : 0];
}
