// Accelerator contexts resized by policy (issue 15, item 1: "compute units and accelerator contexts").
// A context slice cannot be resized in place (ra-spec §5.4: CMD_SLICE_RESIZE takes memory and compute
// slices only), so an elastic accelerator resource grows by adding a context slice of the same engine
// (planned like a request for that many contexts, preferring the adapters it already uses) and shrinks
// by releasing whole context slices, newest first, never below its min. Each change is durable
// (store.update) before it is acknowledged; a failure unprograms what it programmed and changes nothing.
import { RaError } from '../../common/errors.js';
import type { StoredAllocation } from '../../store/store.js';
import { commitReservation } from '../allocate.js';
import { configure, unprogram } from '../configure.js';
import { adaptersOf, type GrmContext, toPublicPlacement, unavailable } from '../context.js';
import { forTenant } from '../engines.js';
import { revokeGrants, withoutWindows } from '../grants.js';
import { GrmCode } from '../types.js';

/** Contexts of an accelerator resource: the sum over its context slices. */
export const contextsOf = (a: StoredAllocation, i: number): number =>
  a.resources[i]!.placements.reduce((n, p) => n + (p.contexts ?? 0), 0);

async function addContexts(ctx: GrmContext, a: StoredAllocation, i: number, more: number) {
  const r = a.resources[i]!;
  const wanted = forTenant(ctx.catalog, a.tenant, {
    resources: [{ kind: 'accelerator', function: r.function!, contexts: more }],
    policy: { adaptersInUse: adaptersOf(a) },
  });
  const index = await ctx.pool.ready();
  const result = index.plan(wanted.request, undefined, { busy: ctx.pool.busy });
  if (!result.ok) throw unavailable(result, wanted.readable);
  const placements = result.plan.placements;
  const reservation = ctx.pool.reserve(result.plan, a.id);
  try {
    await configure(ctx, { id: a.id, ownerKey: a.ownerKey, placements, loadOf: wanted.loadOf });
    const grown: StoredAllocation = {
      ...a,
      resources: a.resources.map((x, k) =>
        k === i ? { ...x, placements: [...x.placements, ...placements.map((p) => toPublicPlacement(p))] } : x,
      ),
    };
    try {
      await ctx.store.update(grown);
    } catch (err) {
      await unprogram(ctx, a.id, a.ownerKey, placements);
      throw err;
    }
    ctx.allocations.set(a.id, grown);
    commitReservation(ctx, reservation);
    return grown;
  } catch (err) {
    ctx.pool.rollback(reservation);
    throw err;
  }
}

async function dropContexts(ctx: GrmContext, a: StoredAllocation, i: number, to: number) {
  const kept = [...a.resources[i]!.placements];
  const dropped: typeof kept = [];
  let left = contextsOf(a, i);
  // Newest first, whole slices only, as long as what stays is at least `to`.
  while (kept.length > 1 && left - (kept.at(-1)!.contexts ?? 0) >= to) {
    const p = kept.pop()!;
    left -= p.contexts ?? 0;
    dropped.push(p);
  }
  if (dropped.length === 0) return a;
  await revokeGrants(ctx, a); // the resource changes: its grants go first (ra-spec §18.6)
  const shrunk: StoredAllocation = {
    ...withoutWindows(a), // their windows were just closed
    resources: a.resources.map((x, k) => (k === i ? { ...x, placements: kept } : x)),
  };
  const adapters = [...new Set(dropped.map((p) => p.adapter))];
  const done = ctx.pool.begin(adapters);
  try {
    await ctx.store.update(shrunk); // durable first: a failed release after it is an orphan reconciliation frees
    ctx.allocations.set(a.id, shrunk);
    for (const p of dropped) {
      await ctx.commands
        .run(p.adapter, 'release', { entry: p.slice, ownerKey: a.ownerKey })
        .catch((e: Error) =>
          ctx.log.warn(
            { allocation: a.id, adapter: p.adapter, entry: p.slice, err: e.message },
            'context slice already gone',
          ),
        );
      ctx.pool.releaseSlice({ adapter: p.adapter, entry: p.slice }, a.id);
    }
  } finally {
    done();
  }
  return shrunk;
}

/**
 * Grows or shrinks accelerator resource `i` of allocation `id` to about `to` contexts: a grow adds
 * exactly the difference (RESOURCE_UNAVAILABLE when the pool has no room), a shrink releases whole
 * slices and so may stay above `to`. Under the allocation's lock; returns it as it is after.
 */
export async function resizeContexts(
  ctx: GrmContext,
  id: string,
  i: number,
  to: number,
): Promise<StoredAllocation> {
  return ctx.locks.run(id, async () => {
    const a = ctx.allocations.get(id);
    if (a?.state !== 'active' || a.resources[i]?.kind !== 'accelerator')
      throw new RaError(GrmCode.NOT_FOUND, `allocation ${id} has no active accelerator resource ${i}`);
    const now = contextsOf(a, i);
    if (to > now) return addContexts(ctx, a, i, to - now);
    if (to < now) return dropContexts(ctx, a, i, to);
    return a;
  });
}
