// Which adapters may receive a new slice for this request at all: taints and hard limits, the same
// for every strategy (they are correctness, not preference), with the reason each one was skipped.
import { type AdapterAvailability, type Availability, freeEntryCount } from './availability.js';
import type { ResourceContext, Skipped, SkipReason } from './plan.js';
import { heldByAnother } from './whole.js';

export interface Eligible {
  adapters: AdapterAvailability[];
  skipped: Skipped;
}

function skipReason(a: AdapterAvailability, context: ResourceContext): SkipReason | undefined {
  const { policy, used } = context;
  if (a.health === 'unhealthy') return 'unhealthy';
  if (a.health === 'degraded' && !policy.allowDegraded) return 'degraded';
  if (heldByAnother(a)) return 'heldWhole';
  if (freeEntryCount(a) === 0) return 'sliceTableFull';
  if (policy.maxAdapters !== undefined && !used.has(a.id) && used.size >= policy.maxAdapters)
    return 'maxAdapters';
  return undefined;
}

/** Eligible adapters in id order, and the others grouped by why they were left out. */
export function eligibleAdapters(working: Availability, context: ResourceContext): Eligible {
  const adapters: AdapterAvailability[] = [];
  const skipped: Skipped = {};
  const selector = context.selector;
  for (const a of working.adapters) {
    // Adapters the selector leaves out are not candidates at all: not listed as skipped (a pool of
    // thousands would fill the message), counted by the failure's message instead.
    if (selector && !selector(a)) continue;
    const reason = skipReason(a, context);
    if (reason) skipped[reason] = [...(skipped[reason] ?? []), a.id];
    else adapters.push(a);
  }
  return { adapters, skipped };
}

/** How many more adapters this request may add (Infinity without maxAdapters). */
export function newAdapterBudget(context: ResourceContext): number {
  const max = context.policy.maxAdapters;
  return max === undefined ? Number.POSITIVE_INFINITY : Math.max(0, max - context.used.size);
}

/** The same request without its maxAdapters limit: to tell whether that limit is what failed it. */
export function withoutMaxAdapters(context: ResourceContext): ResourceContext {
  const { maxAdapters, ...policy } = context.policy;
  return { policy, used: context.used, ...(context.selector ? { selector: context.selector } : {}) };
}

const hints: Record<SkipReason, string> = {
  unhealthy: 'unhealthy',
  degraded: 'degraded (set policy.allowDegraded to use them)',
  sliceTableFull: 'with a full slice table',
  heldWhole: 'held whole by another allocation',
  maxAdapters: 'beyond policy.maxAdapters',
};

/** "skipped: a1 unhealthy; a2 degraded (...)" — empty when nothing was skipped. */
export function describeSkipped(skipped: Skipped): string {
  const parts = (Object.keys(skipped) as SkipReason[]).map((r) => `${skipped[r]!.join(', ')} ${hints[r]}`);
  return parts.length ? `; skipped: ${parts.join('; ')}` : '';
}
