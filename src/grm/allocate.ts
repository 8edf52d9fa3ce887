// Allocate: plan on the live index and reserve at once (synchronously, so two concurrent plans never
// take the same capacity), record the intent, configure every adapter in parallel, commit. Any failure
// rolls back every adapter touched and gives the reservation back. No lock is held across I/O: the
// reservation is what keeps other allocations off the capacity meanwhile.
import { RaError } from '../common/errors.js';
import {
  type AvailabilityIndex,
  type PlacementRequest,
  type Plan,
  type PlanFailure,
  type PlannedSlice,
  type PlanResult,
  preferred,
  type Reservation,
  type Resource,
  RvlCode,
} from '../rvl/index.js';
import type { StoredAllocation } from '../store/store.js';
import { configure, unprogram } from './configure.js';
import { type GrmContext, resourceOf, toPublicPlacement, unavailable } from './context.js';
import { forTenant } from './engines.js';
import { withoutWindows } from './grants.js';
import { noUsage, usageOfPlan } from './quotas.js';
import { newOwnerKey, randomHex } from './random-ids.js';
import { GrmCode, type ResourceRequest } from './types.js';
import { validateAllocation } from './validate.js';

export { newOwnerKey } from './random-ids.js';

/**
 * Plans and reserves in one synchronous step; a failed plan is RESOURCE_UNAVAILABLE. `holdQuota` runs
 * in that step too, between plan and reservation (quotas.ts): QUOTA_EXCEEDED reserves nothing.
 */
function reserve(
  ctx: GrmContext,
  plan: () => PlanResult,
  label: string,
  readable?: (m: string) => string,
  holdQuota?: (placements: PlannedSlice[]) => void,
): { placements: PlannedSlice[]; reservation: Reservation; plan: Plan } {
  const result = plan();
  if (!result.ok) throw unavailable(result, readable);
  holdQuota?.(result.plan.placements);
  try {
    return {
      placements: result.plan.placements,
      reservation: ctx.pool.reserve(result.plan, label),
      plan: result.plan,
    };
  } catch (err) {
    ctx.quotas.settle(label);
    // Planned and reserved in the same tick, so only a bug makes the plan stale: say so, as a conflict.
    if ((err as RaError).code === RvlCode.STALE_PLAN)
      throw new RaError(GrmCode.CONFLICT, `the plan could not be reserved: ${(err as Error).message}`);
    throw err;
  }
}

/**
 * A logic request takes every context of its slot; the RVL plans with the adapter's maximum, the
 * bitstream may provide fewer (its descriptor says how many).
 */
export function contextsFor(ctx: GrmContext, p: PlannedSlice): number {
  if (!p.loadBitstream || !('bitstream' in p.loadBitstream)) return p.length;
  return Math.min(p.length, ctx.catalog.get(p.loadBitstream.bitstream).contexts);
}

/**
 * Called when the request's plan failed: makes room if it can (defrag.ts moves live memory slices)
 * and resolves truthy, resolves falsy when it cannot help, or throws its own refusal.
 */
export type MakeRoom = (request: PlacementRequest, failure: PlanFailure) => Promise<unknown>;

export async function allocate(
  ctx: GrmContext,
  tenant: string,
  body: unknown,
  makeRoom?: MakeRoom,
): Promise<StoredAllocation> {
  const { placement, policy, adminAccess } = validateAllocation(body, ctx.options.requestClasses);
  if (adminAccess && !ctx.options.operators?.has(tenant))
    throw new RaError(
      GrmCode.FORBIDDEN,
      `adminAccess (monitoring adapters in use) is for operators; tenant ${tenant} is not one (serve --operators)`,
    );
  // Before anything is planned or journaled: a bitstream this tenant may not use does not exist.
  for (const r of placement.resources)
    for (const alt of r.kind === 'firstAvailable' ? r.alternatives : [r])
      if (alt.kind === 'logic') ctx.catalog.get(alt.bitstream, tenant);
  const wanted = forTenant(ctx.catalog, tenant, placement);
  ctx.quotas.check(tenant, requestedUsage(placement.resources)); // over quota even on a full pool: 429
  const index = await ctx.pool.ready();
  knownServer(index, policy.sameServer);
  const id = `a-${randomHex(6)}`;
  const ownerKey = newOwnerKey();
  const plan = () => index.plan(wanted.request, preferred, { busy: ctx.pool.busy });
  let planned = plan();
  // Planned again right after the room was made, and reserved in that same tick.
  if (!planned.ok && makeRoom && (await makeRoom(wanted.request, planned))) planned = plan();
  const result = planned;
  const {
    placements,
    reservation,
    plan: granted,
  } = reserve(
    ctx,
    () => result,
    id,
    wanted.readable,
    (plan) => ctx.quotas.hold(tenant, id, usageOfPlan(plan, 1)),
  );
  ctx.pool.own(ownerKey, id);
  ctx.configuring.add(id);
  let programmed = false;
  try {
    // Queued now, ahead of the commit. One writer: its fsync runs beside the configuration below (one
    // fsync wait less per allocation); replicas, or a store that already refuses writes: durable (or
    // refused) before any adapter is touched (store.ts).
    const intentFirst = !ctx.store.singleWriter || !ctx.store.health().writable;
    const intent = ctx.store.recordIntent({
      id,
      tenant,
      ownerKey,
      placements: placements.map((p) => toPublicPlacement(p, (q) => contextsFor(ctx, q))),
      createdAt: new Date().toISOString(),
    });
    if (intentFirst) await intent;
    else intent.catch(() => undefined); // awaited after the configuration (this keeps it from being unhandled)
    try {
      await configure(ctx, {
        id,
        ownerKey,
        placements,
        loadOf: wanted.loadOf,
        lengthOf: (p) => contextsFor(ctx, p), // and reported so: placements say what the slices hold
      });
      programmed = true;
      await intent;
      if (reservation.lostBecause)
        throw new RaError(
          GrmCode.CONFLICT,
          `an adapter reported something else where the allocation was configured (${reservation.lostBecause}); retry`,
        );
      const now = new Date();
      const allocation: StoredAllocation = {
        id,
        tenant,
        state: 'active',
        ownerKey,
        policy,
        createdAt: now.toISOString(),
        ...(policy.leaseMs ? { leaseExpiresAt: new Date(now.getTime() + policy.leaseMs).toISOString() } : {}),
        resources: (body as { resources: ResourceRequest[] }).resources.map((r, i) =>
          resourceOf(
            r,
            placements.filter((p) => p.resourceIndex === i),
            {
              ...(granted.alternatives?.[i] !== undefined ? { alternative: granted.alternatives[i] } : {}),
              ...(granted.monitors?.[i] ? { monitors: granted.monitors[i] } : {}),
            },
            (p) => contextsFor(ctx, p),
          ),
        ),
      };
      await ctx.store.commit(allocation); // durable before the client hears "201"
      ctx.allocations.set(id, allocation);
      commitReservation(ctx, reservation);
      ctx.log.info({ allocation: id, tenant, slices: placements.length }, 'allocated');
      return allocation;
    } catch (err) {
      // Not committed: the client hears an error, so the slices must not stay programmed.
      if (programmed) await unprogram(ctx, id, ownerKey, placements);
      await dropIntent(ctx, id);
      throw err;
    }
  } catch (err) {
    ctx.pool.rollback(reservation);
    ctx.pool.disown(ownerKey);
    throw err;
  } finally {
    ctx.configuring.delete(id);
    // Same tick as ctx.allocations.set on success: the usage moves from held to committed at once.
    ctx.quotas.settle(id);
  }
}

/** What a request takes whatever its plan: one allocation, its bytes and units (checked before planning). */
export function requestedUsage(resources: readonly { kind: string; bytes?: number; units?: number }[]) {
  const u = noUsage();
  u.allocations = 1;
  for (const r of resources) {
    u.bytes += r.kind === 'memory' ? (r.bytes ?? 0) : 0;
    u.units += r.kind === 'compute' ? (r.units ?? 0) : 0;
  }
  return u;
}

/**
 * policy.sameServer names the server the instance runs on: a name no adapter has is a mistake (a
 * typo would otherwise turn the preference into no preference at all), refused before planning.
 */
function knownServer(index: AvailabilityIndex, server: string | undefined): void {
  if (server === undefined || index.hasServer(server)) return;
  const servers = index.serverNames();
  throw new RaError(
    GrmCode.INVALID_REQUEST,
    `policy.sameServer: no adapter is on server ${server} (servers: ${servers.slice(0, 16).join(', ')}${servers.length > 16 ? ', ...' : ''}): name the server the instance runs on, or leave it out`,
    { field: 'policy.sameServer' },
  );
}

/** Forgets the intent of an allocation that did not commit; a failure is left to reconciliation. */
export async function dropIntent(ctx: GrmContext, id: string): Promise<void> {
  try {
    await ctx.store.abortIntent(id);
  } catch (e) {
    ctx.log.error({ allocation: id, err: (e as Error).message }, 'intent not dropped; reconciliation will');
  }
}

/**
 * The index keeps the configured slices. A reservation an agent report contradicted while the store
 * committed keeps what the index still holds: those slices are programmed and durable, and giving
 * them back would let the next plan collide with them on the adapter (SLICE_STATE). The next
 * reconciliation re-reads the adapters for the rest.
 */
export function commitReservation(ctx: GrmContext, r: Reservation): void {
  if (!r.lostBecause) {
    ctx.pool.commit(r);
    return;
  }
  ctx.log.error(
    { allocation: r.allocation, err: r.lostBecause },
    'committed allocation partly lost from the index; reconciliation will re-read its adapters',
  );
  ctx.pool.commitDespiteLoss(r);
}

/**
 * Policy "replace": programs the slices that sat on failed adapters again on healthy ones, with the
 * same owner key. A crash half way leaves slices with the allocation's key outside its placements,
 * which reconciliation releases (stray slices), so no intent record is needed. The caller holds the
 * allocation's lock.
 */
export async function replaceFailedSlices(
  ctx: GrmContext,
  a: StoredAllocation,
  failed: (adapter: string) => boolean,
): Promise<StoredAllocation> {
  const wanted = a.resources.map((r): Resource | undefined => {
    const gone = r.placements.filter((p) => failed(p.adapter));
    if (gone.length === 0) return undefined;
    if (r.kind === 'memory') return { kind: 'memory', bytes: gone.reduce((n, p) => n + (p.bytes ?? 0), 0) };
    if (r.kind === 'compute') return { kind: 'compute', units: gone.reduce((n, p) => n + (p.units ?? 0), 0) };
    if (r.kind === 'accelerator') return { kind: 'accelerator', function: r.function! };
    if (r.kind === 'adapter') return { kind: 'adapter', count: new Set(gone.map((p) => p.adapter)).size };
    return { kind: 'logic', bitstream: r.bitstream! };
  });
  const indices = wanted.flatMap((w, i) => (w ? [i] : []));
  const request = forTenant(ctx.catalog, a.tenant, {
    resources: indices.map((i) => wanted[i]!),
    policy: { ...(a.policy.sameServer ? { sameServer: a.policy.sameServer } : {}) },
  });
  const index = await ctx.pool.ready();
  const { placements, reservation } = reserve(ctx, () => index.plan(request.request), a.id, request.readable);
  try {
    await configure(ctx, { id: a.id, ownerKey: a.ownerKey, placements, loadOf: request.loadOf });
    const replaced: StoredAllocation = {
      ...withoutWindows(a), // the caller revoked its grants: placements change
      resources: a.resources.map((r, i) => {
        const k = indices.indexOf(i);
        if (k < 0) return r;
        const fresh = placements.filter((p) => p.resourceIndex === k).map((p) => toPublicPlacement(p));
        return { ...r, placements: [...r.placements.filter((p) => !failed(p.adapter)), ...fresh] };
      }),
    };
    try {
      await ctx.store.update(replaced);
    } catch (err) {
      await unprogram(ctx, a.id, a.ownerKey, placements);
      throw err;
    }
    ctx.allocations.set(a.id, replaced);
    commitReservation(ctx, reservation);
    return replaced;
  } catch (err) {
    ctx.pool.rollback(reservation);
    throw err;
  }
}
