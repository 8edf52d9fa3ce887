// Releasing an allocation (by its tenant, a lease, idle reclaim) and marking one lost. Callers hold the
// allocation's lock, so a release waits for a resize or migration step of the same allocation.
import type { StoredAllocation } from '../store/store.js';
import { adaptersOf, type GrmContext } from './context.js';
import { revokeGrants, withoutWindows } from './grants.js';

/** Removes the store record, then releases every slice on the adapters (in parallel), then the index's. */
export async function releaseAllocation(ctx: GrmContext, a: StoredAllocation, why: string): Promise<void> {
  await ctx.pool.ready();
  // Grants first (ra-spec §18.6): nothing submitted through them reaches a slice from here on, and
  // the release is acknowledged only after every window was closed.
  await revokeGrants(ctx, a);
  const adapters = adaptersOf(a);
  // Registers first, index after: a report read in between would see the slices gone.
  const done = ctx.pool.begin(adapters);
  try {
    // Durable first: a store that cannot write leaves the allocation whole (active, slices programmed);
    // a slice whose release fails after this is an orphan that reconciliation releases.
    await ctx.store.remove(a.id);
    ctx.allocations.delete(a.id);
    ctx.jobsEndedMs.delete(a.id);
    await Promise.all(
      a.resources.flatMap((r) =>
        r.placements.map((p) =>
          ctx.commands
            .run(p.adapter, 'release', { entry: p.slice, ownerKey: a.ownerKey })
            .catch((e: Error) =>
              ctx.log.warn(
                { allocation: a.id, adapter: p.adapter, entry: p.slice, err: e.message },
                'slice already gone while releasing',
              ),
            ),
        ),
      ),
    );
    ctx.pool.release(a.id, adapters);
    ctx.pool.disown(a.ownerKey);
  } finally {
    done();
  }
  ctx.log.info({ allocation: a.id, why }, 'released');
}

/** The allocation answers GET and DELETE only from now on (durable). */
export async function markLost(ctx: GrmContext, a: StoredAllocation): Promise<StoredAllocation> {
  await revokeGrants(ctx, a);
  const lost: StoredAllocation = { ...withoutWindows(a), state: 'lost' };
  await ctx.store.update(lost);
  ctx.allocations.set(a.id, lost);
  return lost;
}
