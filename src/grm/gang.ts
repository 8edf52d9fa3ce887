// Gang requests (issue 15): several allocations granted all or nothing — eight workers of one training
// job — with backtracking across the members (src/rvl/gang-search.ts). The search reserves on the live
// index in one synchronous step, so no other plan interleaves; then every member's intent is recorded,
// every adapter configured in parallel, and the members are committed in ONE durable write
// (store.commitAll): a crash leaves the whole gang or none of it. Any failure before that rolls back
// every slice of every member; the client hears 409 (or the failure) and nothing is allocated.
import { RaError } from '../common/errors.js';
import {
  DEFAULT_GANG_SEARCH_STEPS,
  type Plan,
  type PlannedSlice,
  planAlternatives,
  type Reservation,
  RvlCode,
  searchGang,
} from '../rvl/index.js';
import type { StoredAllocation } from '../store/store.js';
import { commitReservation, contextsFor, dropIntent, newOwnerKey, requestedUsage } from './allocate.js';
import { configure, unprogram } from './configure.js';
import { type GrmContext, resourceOf, toPublicPlacement } from './context.js';
import { forTenant, type TenantRequest } from './engines.js';
import { validateGang } from './gang-validate.js';
import { noUsage, type Usage, usageOfPlan } from './quotas.js';
import { randomHex } from './random-ids.js';
import { GrmCode, type ResourceRequest } from './types.js';

export { MAX_GANG_MEMBERS, MAX_GANG_SEARCH_STEPS } from './gang-validate.js';

interface Member {
  id: string;
  ownerKey: string;
  wanted: TenantRequest;
  placements: PlannedSlice[];
  plan: Plan;
  reservation: Reservation;
}

export interface GangOutcome {
  gang: string;
  allocations: StoredAllocation[];
  /** Placements tried by the search, and how often it backtracked. */
  searchSteps: number;
  backtracks: number;
}

/** Every member placed, or RESOURCE_UNAVAILABLE with every hold given back. */
function placeMembers(
  ctx: GrmContext,
  tenant: string,
  index: Awaited<ReturnType<GrmContext['pool']['ready']>>,
  wanted: readonly TenantRequest[],
  ids: readonly string[],
  maxSteps: number,
): { held: { plan: Plan; reservation: Reservation }[]; steps: number; backtracks: number } {
  let quotaRefusal: RaError | undefined;
  const result = searchGang(
    {
      members: wanted.length,
      alternatives: (k) => planAlternatives(index, wanted[k]!.request, { busy: ctx.pool.busy }),
      take: (k, plan) => {
        // The member's quota is held in the same synchronous step as its reservation (quotas.ts).
        try {
          ctx.quotas.hold(tenant, ids[k]!, usageOfPlan(plan.placements, 1));
        } catch (err) {
          if ((err as RaError).code !== GrmCode.QUOTA_EXCEEDED) throw err;
          quotaRefusal = err as RaError;
          return undefined;
        }
        try {
          return { plan, reservation: ctx.pool.reserve(plan, ids[k]!) };
        } catch (err) {
          ctx.quotas.settle(ids[k]!);
          if ((err as RaError).code === RvlCode.STALE_PLAN) return undefined;
          throw err;
        }
      },
      giveBack: (h) => {
        ctx.pool.rollback(h.reservation);
        ctx.quotas.settle(h.reservation.allocation);
      },
    },
    maxSteps,
  );
  if (result.ok) return result;
  // The members fit the pool but not the tenant's quota: that is the answer (429), not "no room".
  if (quotaRefusal) throw quotaRefusal;
  const k = result.blockedMember;
  const bound = result.boundHit
    ? ` The search stopped at its bound of ${maxSteps} placements tried: a placement may exist; retry ` +
      'with a larger "searchSteps" or fewer members.'
    : ' Every combination of the placements tried fails: free capacity, or ask for less.';
  throw new RaError(
    GrmCode.RESOURCE_UNAVAILABLE,
    `the gang of ${wanted.length} cannot be granted: members[${k}] does not fit beside members 0..${k - 1}` +
      ` in any of the ${result.steps} placements tried (${result.backtracks} backtracks); nothing was allocated.` +
      bound,
    { member: k, searchSteps: result.steps, backtracks: result.backtracks, boundHit: result.boundHit },
  );
}

export async function allocateGang(ctx: GrmContext, tenant: string, body: unknown): Promise<GangOutcome> {
  const request = validateGang(body, ctx.options.requestClasses);
  for (const [k, m] of request.members.entries()) {
    if (m.adminAccess && !ctx.options.operators?.has(tenant))
      throw new RaError(
        GrmCode.FORBIDDEN,
        `members[${k}]: adminAccess (monitoring adapters in use) is for operators; tenant ${tenant} is not one`,
      );
    for (const r of m.placement.resources)
      for (const alt of r.kind === 'firstAvailable' ? r.alternatives : [r])
        if (alt.kind === 'logic') ctx.catalog.get(alt.bitstream, tenant);
  }
  const wanted = request.members.map((m) => forTenant(ctx.catalog, tenant, m.placement));
  // Over quota even on a full pool: 429 before any search (each member is held again as it is placed).
  ctx.quotas.check(tenant, sumUsage(request.members.map((m) => requestedUsage(m.placement.resources))));
  const index = await ctx.pool.ready();
  const gang = `g-${randomHex(6)}`;
  const ids = wanted.map(() => `a-${randomHex(6)}`);
  const placed = placeMembers(
    ctx,
    tenant,
    index,
    wanted,
    ids,
    request.searchSteps ?? DEFAULT_GANG_SEARCH_STEPS,
  );
  const members: Member[] = placed.held.map((h, k) => ({
    id: ids[k]!,
    ownerKey: newOwnerKey(),
    wanted: wanted[k]!,
    placements: h.plan.placements,
    plan: h.plan,
    reservation: h.reservation,
  }));
  for (const m of members) {
    ctx.pool.own(m.ownerKey, m.id);
    ctx.configuring.add(m.id);
  }
  const intents: Member[] = [];
  const programmed: Member[] = [];
  try {
    const createdAt = new Date().toISOString();
    const recorded = await Promise.allSettled(
      members.map(async (m) => {
        await ctx.store.recordIntent({
          id: m.id,
          tenant,
          ownerKey: m.ownerKey,
          placements: m.placements.map((p) => toPublicPlacement(p, (q) => contextsFor(ctx, q))),
          createdAt,
        });
        intents.push(m);
      }),
    );
    throwFirst(recorded);
    const configured = await Promise.allSettled(
      members.map(async (m) => {
        await configure(ctx, {
          id: m.id,
          ownerKey: m.ownerKey,
          placements: m.placements,
          loadOf: m.wanted.loadOf,
          lengthOf: (p) => contextsFor(ctx, p),
        });
        programmed.push(m); // configure() released its own slices when it failed
      }),
    );
    throwFirst(configured);
    const lost = members.find((m) => m.reservation.lostBecause);
    if (lost)
      throw new RaError(
        GrmCode.CONFLICT,
        `an adapter reported something else where gang member ${lost.id} was configured (${lost.reservation.lostBecause}); retry`,
      );
    const now = new Date();
    const allocations = members.map((m, k): StoredAllocation => {
      const { policy, placement } = request.members[k]!;
      return {
        id: m.id,
        tenant,
        state: 'active',
        ownerKey: m.ownerKey,
        policy,
        createdAt: now.toISOString(),
        ...(policy.leaseMs ? { leaseExpiresAt: new Date(now.getTime() + policy.leaseMs).toISOString() } : {}),
        gang,
        resources: placement.resources.map((r, i) =>
          resourceOf(
            r as ResourceRequest,
            m.placements.filter((p) => p.resourceIndex === i),
            {
              ...(m.plan.alternatives?.[i] !== undefined ? { alternative: m.plan.alternatives[i] } : {}),
              ...(m.plan.monitors?.[i] ? { monitors: m.plan.monitors[i] } : {}),
            },
            (p) => contextsFor(ctx, p),
          ),
        ),
      };
    });
    await ctx.store.commitAll(allocations); // durable, all members at once, before the client hears 201
    for (const a of allocations) ctx.allocations.set(a.id, a);
    for (const m of members) commitReservation(ctx, m.reservation);
    for (const m of members) ctx.quotas.settle(m.id); // same tick: held usage becomes committed usage
    ctx.log.info({ gang, tenant, members: members.length, steps: placed.steps }, 'gang allocated');
    return { gang, allocations, searchSteps: placed.steps, backtracks: placed.backtracks };
  } catch (err) {
    // Not committed: no member may stay programmed, recorded or held.
    await Promise.all(programmed.map((m) => unprogram(ctx, m.id, m.ownerKey, m.placements)));
    await Promise.all(intents.map((m) => dropIntent(ctx, m.id)));
    for (const m of members) {
      ctx.pool.rollback(m.reservation);
      ctx.pool.disown(m.ownerKey);
      ctx.quotas.settle(m.id);
    }
    throw err;
  } finally {
    for (const m of members) ctx.configuring.delete(m.id);
  }
}

function sumUsage(parts: readonly Usage[]): Usage {
  const total = noUsage();
  for (const u of parts) for (const f of Object.keys(total) as (keyof Usage)[]) total[f] += u[f];
  return total;
}

function throwFirst(results: readonly PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The tenant's members of `gang`, in the request's order; NOT_FOUND when it has none. */
export function gangMembers(ctx: GrmContext, tenant: string, gang: string): StoredAllocation[] {
  // Committed together in member order: the map (and the store's replay) keeps that order.
  const members = [...ctx.allocations.values()].filter((a) => a.gang === gang && a.tenant === tenant);
  if (typeof gang !== 'string' || members.length === 0)
    throw new RaError(GrmCode.NOT_FOUND, `gang ${gang} does not exist (or all its members were released)`);
  return members;
}
