// Resize (grow or shrink a single-slice memory or compute resource) and migration (move a memory slice
// by DMA), planned on the live index. In-place changes run under the allocation's lock. A migration
// reserves and programs its target under the lock, copies without it (a large copy takes seconds and
// nothing else waits: the target is held in the index), then commits the switch under the lock; a
// release of the allocation during the copy wins.
import { RaError } from '../common/errors.js';
import { serverOf } from '../common/ids.js';
import {
  type ExistingSlice,
  type Reservation,
  type ResizePlan,
  RvlCode,
  type SliceToProgram,
} from '../rvl/index.js';
import type { StoredAllocation } from '../store/store.js';
import { type GrmContext, publicView, unavailable, usable } from './context.js';
import { revokeGrants, withoutWindows } from './grants.js';
import { noUsage } from './quotas.js';
import {
  type AllocatedResource,
  type Allocation,
  GrmCode,
  type Placement,
  type ResizeRequest,
} from './types.js';
import { validateResize } from './validate.js';

/** A migration between its reservation and its commit. */
export interface Move {
  id: string;
  ownerKey: string;
  index: number;
  /** Which placement of the resource moves (0 for a single-slice resource). */
  placement: number;
  from: ExistingSlice;
  to: SliceToProgram;
  target: number;
  reservation: Reservation;
  /** The grow's quota hold, settled when the switch commits. */
  quotaKey?: string | undefined;
}

/** What can never resize is refused at once, before waiting for the allocation's lock. */
function resizable(a: StoredAllocation, req: ResizeRequest): AllocatedResource {
  const resource = a.resources[req.resource];
  if (!resource || (resource.kind !== 'memory' && resource.kind !== 'compute')) {
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `resources[${req.resource}] is not a memory or compute resource of ${a.id}`,
      { field: 'resource' },
    );
  }
  if ((resource.kind === 'memory') !== (req.bytes !== undefined)) {
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `resources[${req.resource}] is ${resource.kind}: give ${resource.kind === 'memory' ? 'bytes' : 'units'}`,
      { field: 'bytes' },
    );
  }
  if (resource.placements.length !== 1) {
    throw new RaError(
      GrmCode.CONFLICT,
      `resources[${req.resource}] is spread over ${resource.placements.length} slices; only single-slice resources resize`,
    );
  }
  return resource;
}

/**
 * Takes the plan's extent in the index. Resizes plan in the tick that reserves; a move planned earlier
 * (defrag.ts plans every move first) may find its extent taken meanwhile: CONFLICT, to retry.
 */
function reserveExtent(ctx: GrmContext, plan: ResizePlan): Reservation {
  try {
    return ctx.pool.reserveResize(plan);
  } catch (err) {
    if ((err as RaError).code !== RvlCode.STALE_PLAN) throw err;
    throw new RaError(
      GrmCode.CONFLICT,
      `the planned extent was taken meanwhile (${(err as Error).message}); retry`,
    );
  }
}

/** Refuses a second resize or migration while one is copying (ra-spec §10: one slice, one move). */
function notMoving(ctx: GrmContext, a: StoredAllocation): StoredAllocation {
  if (ctx.moving.has(a.id))
    throw new RaError(GrmCode.CONFLICT, `allocation ${a.id} is being migrated; retry when that finishes`);
  return a;
}

/** The resource's one slice as the index holds it. */
function sliceOf(ctx: GrmContext, a: StoredAllocation, p: Placement): ExistingSlice {
  const slice = ctx.pool.slice(p.adapter, p.slice, a.id);
  if (!slice)
    throw new RaError(GrmCode.CONFLICT, `slice ${p.adapter}#${p.slice} of ${a.id} is missing on the adapter`);
  return slice;
}

export async function resize(
  ctx: GrmContext,
  tenant: string,
  id: string,
  body: unknown,
): Promise<Allocation> {
  const req = validateResize(body);
  resizable(usable(ctx, tenant, id), req);
  const quotaKey = `grow:${id}:${++resizeCalls}`;
  try {
    return await resizeHeld(ctx, tenant, id, req, quotaKey);
  } finally {
    ctx.quotas.settle(quotaKey); // a grow that failed gives its held quota back
  }
}

/** Numbers each resize call's quota hold, so that one call never settles another's. */
let resizeCalls = 0;

/**
 * A grow holds its growth against the tenant's quota (quotas.ts) in the step that plans it, until
 * commitResource puts the larger resource in ctx.allocations: elastic growth (maintenance.ts) comes
 * through here too, so no growth passes a quota.
 */
function holdGrowth(
  ctx: GrmContext,
  a: StoredAllocation,
  key: string,
  field: 'bytes' | 'units',
  more: number,
): void {
  const usage = noUsage();
  usage[field] = more;
  ctx.quotas.hold(a.tenant, key, usage);
}

async function resizeHeld(
  ctx: GrmContext,
  tenant: string,
  id: string,
  req: ResizeRequest,
  quotaKey: string,
): Promise<Allocation> {
  // The lock is queued for before anything awaits: operations on one allocation keep their order.
  const step = await ctx.locks.run(id, async (): Promise<Allocation | Move> => {
    const index = await ctx.pool.ready();
    // Looked up under the lock: a resize, migration or release queued before us may have run.
    const a = notMoving(ctx, usable(ctx, tenant, id));
    const resource = resizable(a, req);
    const p = resource.placements[0]!;
    const slice = sliceOf(ctx, a, p);
    const target = req.bytes ?? req.units!;
    // A single-slice resource lives on one adapter: a target above every adapter's capacity is
    // refused here, naming the client's field and value (the RVL would round it past 2^53).
    const field = req.bytes !== undefined ? 'bytes' : 'units';
    const capacity = ctx.pool.largest(req.bytes !== undefined ? 'memory' : 'compute');
    if (target > capacity)
      throw new RaError(
        GrmCode.RESOURCE_UNAVAILABLE,
        `${field} ${target} is more than any adapter holds (the largest has ${capacity}); ask for at most that`,
        { field, resource: req.resource },
      );
    if (target === slice.length) return publicView(a);
    const planNow = (): ResizePlan => {
      if (target < slice.length) return index.planShrink(slice, target);
      const r = index.planGrow(slice, target, { sameServer: serverOf(p.adapter) });
      if (!r.ok) throw unavailable(r);
      // A grow holds what the placement will record (the slice's new length, rounded as the plan rounds it).
      const newLength = r.plan.kind === 'migrate' ? r.plan.to.length : r.plan.toLength;
      ctx.quotas.settle(quotaKey);
      holdGrowth(ctx, a, quotaKey, field, newLength - (field === 'bytes' ? (p.bytes ?? 0) : (p.units ?? 0)));
      return r.plan;
    };
    let plan = planNow(); // refused here, before anything changes (grants included)
    // The slice changes: its grants go first (ra-spec §18.6). Closing them awaited the agents, and an
    // allocation or resize elsewhere may have taken the planned extent meanwhile: plan again, in the
    // tick that reserves (a lost race is then a plain refusal, not a reservation of a taken extent).
    if (await revokeGrants(ctx, a)) plan = planNow();
    if (plan.kind === 'migrate') return reserveMove(ctx, a, req.resource, slice, plan, target, 0, quotaKey);
    const updated = await resizeInPlace(ctx, a, req.resource, slice, plan, target, quotaKey);
    ctx.log.info({ allocation: id, resource: req.resource, plan: plan.kind }, 'resized');
    return publicView(updated);
  });
  if (!('reservation' in step)) return step;
  const updated = await finishMove(ctx, step);
  ctx.log.info({ allocation: id, resource: req.resource, plan: 'migrate' }, 'resized');
  return publicView(updated);
}

/** Moves a memory slice to a new extent (another adapter if needed), contents preserved by DMA. */
export async function migrate(
  ctx: GrmContext,
  tenant: string,
  id: string,
  resourceIndex: number,
  toAdapters: string[],
): Promise<Allocation> {
  const single = (a: StoredAllocation) => {
    const resource = a.resources[resourceIndex];
    if (resource?.kind !== 'memory' || resource.placements.length !== 1) {
      throw new RaError(
        GrmCode.INVALID_REQUEST,
        `resources[${resourceIndex}] is not a single-slice memory resource`,
      );
    }
    return resource;
  };
  single(usable(ctx, tenant, id));
  const move = await ctx.locks.run(id, async () => {
    const index = await ctx.pool.ready();
    const a = notMoving(ctx, usable(ctx, tenant, id)); // fresh: something queued before us may have moved it
    const resource = single(a);
    const slice = sliceOf(ctx, a, resource.placements[0]!);
    const planNow = () => {
      const r = index.planMigration(slice, toAdapters);
      if (!r.ok) throw unavailable(r);
      if (r.plan.kind !== 'migrate') throw new RaError(GrmCode.CONFLICT, 'the migration plan moves nothing');
      return r.plan;
    };
    let plan = planNow();
    // Moved contents are reached through new grants only (ra-spec §18.6); closing the old ones awaited
    // the agents, so the target is planned again (as in resizeHeld).
    if (await revokeGrants(ctx, a)) plan = planNow();
    return reserveMove(ctx, a, resourceIndex, slice, plan, resource.bytes ?? slice.length);
  });
  const updated = await finishMove(ctx, move);
  ctx.log.info(
    { allocation: id, from: move.from.adapter, to: updated.resources[resourceIndex]!.placements[0]!.adapter },
    'migrated',
  );
  return publicView(updated);
}

/** CMD_SLICE_RESIZE on the same entry (ra-spec §5.4), mirrored in the index, then recorded. */
async function resizeInPlace(
  ctx: GrmContext,
  a: StoredAllocation,
  index: number,
  slice: ExistingSlice,
  plan: Extract<ResizePlan, { kind: 'in-place' | 'shrink' }>,
  target: number,
  quotaKey: string,
): Promise<StoredAllocation> {
  const done = ctx.pool.begin([slice.adapter]);
  try {
    // A grow takes the extent in the index now (no other plan may take it while the adapter resizes);
    // a shrink frees the tail at commit, after the adapter scrubbed it.
    const reservation = reserveExtent(ctx, plan);
    try {
      await ctx.commands.run(slice.adapter, 'resize', {
        entry: slice.entry,
        ownerKey: a.ownerKey,
        length: plan.toLength,
      });
    } catch (err) {
      ctx.pool.rollback(reservation);
      throw err;
    }
    // The registers hold the new length from here on: the index follows them whatever the store does.
    ctx.pool.commit(reservation);
    const placement: Placement = {
      ...a.resources[index]!.placements[0]!,
      ...(slice.kind === 'memory' ? { bytes: plan.toLength } : { units: plan.toLength }),
    };
    return await commitResource(ctx, a, index, 0, placement, target, quotaKey);
  } finally {
    done();
  }
}

/** Records the resource's new placement (its `at`-th): durable before anything old is released. */
async function commitResource(
  ctx: GrmContext,
  a: StoredAllocation,
  index: number,
  at: number,
  placement: Placement,
  target: number,
  quotaKey?: string,
): Promise<StoredAllocation> {
  const resource = a.resources[index]!;
  const resized: AllocatedResource = {
    ...resource,
    ...(resource.kind === 'memory' ? { bytes: target } : { units: target }),
    placements: resource.placements.map((p, i) => (i === at ? placement : p)),
  };
  // Its grants were revoked before the resource changed (resize, migrate): the record drops their windows.
  const updated: StoredAllocation = {
    ...withoutWindows(a),
    resources: a.resources.map((r, i) => (i === index ? resized : r)),
  };
  await ctx.store.update(updated);
  ctx.allocations.set(a.id, updated);
  if (quotaKey) ctx.quotas.settle(quotaKey); // same tick: the growth is counted from the allocation now
  return updated;
}

/**
 * Step 1 of a migration, under the allocation's lock: holds the target in the index (every plan
 * sees it taken), programs it with the allocation's key, and marks the allocation as moving. The
 * caller revoked the allocation's grants. `placement` is which slice of the resource moves.
 */
export async function reserveMove(
  ctx: GrmContext,
  a: StoredAllocation,
  index: number,
  from: ExistingSlice,
  plan: Extract<ResizePlan, { kind: 'migrate' }>,
  target: number,
  placement = 0,
  quotaKey?: string,
): Promise<Move> {
  const to = plan.to;
  const reservation = reserveExtent(ctx, plan);
  try {
    await ctx.commands.run(to.adapter, 'program', {
      entry: to.entry,
      kind: to.kind,
      base: to.base,
      length: to.length,
      ownerKey: a.ownerKey,
    });
  } catch (err) {
    ctx.pool.rollback(reservation);
    throw err;
  }
  ctx.moving.add(a.id);
  return { id: a.id, ownerKey: a.ownerKey, index, placement, from, to, target, reservation, quotaKey };
}

/**
 * Steps 2 and 3: copies the contents by DMA without the lock, then commits the switch under it. A
 * release of the allocation during the copy wins: the target slice is released and the move reports it.
 */
export async function finishMove(ctx: GrmContext, m: Move): Promise<StoredAllocation> {
  const releaseTarget = async () => {
    await ctx.commands
      .run(m.to.adapter, 'release', { entry: m.to.entry, ownerKey: m.ownerKey })
      .catch((e: Error) =>
        ctx.log.warn(
          { allocation: m.id, adapter: m.to.adapter, entry: m.to.entry, err: e.message },
          'migration target not released; reconciliation will',
        ),
      );
    ctx.pool.rollback(m.reservation);
  };
  try {
    let copyError: unknown;
    if (m.from.kind === 'memory') {
      // Not queued behind configuration commands: both slices are programmed and held.
      await ctx.commands
        .agentFor(m.to.adapter)
        .call('copy', {
          srcAdapter: m.from.adapter,
          srcEntry: m.from.entry,
          srcOffset: 0,
          dstAdapter: m.to.adapter,
          dstEntry: m.to.entry,
          dstOffset: 0,
          bytes: Math.min(m.from.length, m.to.length),
          ownerKey: m.ownerKey,
        })
        .catch((err: unknown) => {
          copyError = err;
        });
      ctx.metrics.copyDone(Math.min(m.from.length, m.to.length), copyError);
    }
    return await ctx.locks.run(m.id, async () => {
      const a = ctx.allocations.get(m.id);
      const still = a?.state === 'active' && a.ownerKey === m.ownerKey;
      if (!a || !still || copyError !== undefined) {
        await releaseTarget();
        if (!still)
          throw new RaError(
            GrmCode.CONFLICT,
            `allocation ${m.id} was ${a ? 'lost' : 'released'} while its memory was being migrated; nothing was moved`,
          );
        throw copyError;
      }
      const placement: Placement = {
        adapter: m.to.adapter,
        slice: m.to.entry,
        ...(m.to.kind === 'memory' ? { offset: m.to.base, bytes: m.to.length } : { units: m.to.length }),
      };
      // Durable before the old slice goes: a crash from here on leaves the old slice as a stray
      // (reconciliation releases it), never the allocation pointing at a released slice.
      let updated: StoredAllocation;
      try {
        updated = await commitResource(ctx, a, m.index, m.placement, placement, m.target, m.quotaKey);
      } catch (err) {
        await releaseTarget();
        throw err;
      }
      const done = ctx.pool.begin([m.from.adapter]);
      try {
        await ctx.commands
          .run(m.from.adapter, 'release', { entry: m.from.entry, ownerKey: m.ownerKey })
          .catch((e: Error) =>
            ctx.log.warn(
              { allocation: m.id, adapter: m.from.adapter, entry: m.from.entry, err: e.message },
              'old slice not released after migration; reconciliation will',
            ),
          );
        ctx.pool.commit(m.reservation); // the target is the allocation's; the source is free
      } finally {
        done();
      }
      ctx.metrics.reallocated('migrated');
      return updated;
    });
  } finally {
    ctx.moving.delete(m.id);
  }
}
