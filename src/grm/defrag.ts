// Defragmentation by live migration, executed (issue 15 item 3; docs/realloc.md "Defragmentation"):
// a memory request that found no extent large enough, although the memory is there, gets room made
// by moving live memory slices. The RVL plans the cheapest moves within the byte budget
// (src/rvl/defrag.ts); each move here is the migration path of resize.ts, one at a time: grants
// revoked (ra-spec §18.6), the target reserved and programmed, the contents copied by DMA (ra-spec
// §8), the new placement durable in the store, then the old slice released. A failure stops the
// moves: every allocation is then whole where it is (a move completed, or its old slice kept), and
// the request is refused.
import { RaError } from '../common/errors.js';
import { type DefragMove, type DefragPlan, planDefrag } from '../rvl/defrag.js';
import type { ExistingSlice, PlacementRequest, PlanFailure } from '../rvl/index.js';
import type { StoredAllocation } from '../store/store.js';
import { adaptersOf, type GrmContext } from './context.js';
import type { AllocationEvent } from './elastic/events.js';
import { revokeGrants } from './grants.js';
import { finishMove, reserveMove } from './resize.js';
import { GrmCode } from './types.js';

/** What one admission may copy when nothing says otherwise (an admission waits for the copies). */
export const DEFAULT_DEFRAG_BUDGET_BYTES = 1024 ** 3;

/** Failures a contiguous extent would cure: splitting is off, or a split would span too many adapters. */
const FRAGMENTATION = new Set(['NOT_CONTIGUOUS', 'MAX_ADAPTERS']);

export interface DefragOptions {
  budgetBytes: number;
  /** Records an event for the moved allocation's tenant (AllocationEvents). */
  record(a: StoredAllocation, event: AllocationEvent): void;
}

/** What a defragmentation did, for the log, the demo and the bench. */
export interface DefragReport {
  moves: number;
  movedBytes: number;
  ms: number;
  /** When the moves ended (Date.now() ms). */
  endedAtMs: number;
  /** The allocations moved, each with its slices before and after. */
  moved: { allocation: string; from: string; to: string }[];
}

/** The placement of `a` at `s`: its resource and placement indices. */
function placementOf(a: StoredAllocation, s: { adapter: string; entry: number }) {
  for (const [index, r] of a.resources.entries()) {
    const at = r.placements.findIndex((p) => p.adapter === s.adapter && p.slice === s.entry);
    if (at >= 0 && r.kind === 'memory') return { index, at, resource: r };
  }
  return undefined;
}

/** A slice the GRM may move now: a committed, active, movable allocation's memory with nothing in flight. */
function movableNow(ctx: GrmContext, s: ExistingSlice): boolean {
  const a = ctx.allocations.get(s.allocation);
  if (a?.state !== 'active' || a.policy.movable === false) return false;
  if (ctx.moving.has(a.id) || ctx.configuring.has(a.id) || (ctx.jobsRunning.get(a.id) ?? 0) > 0) return false;
  const live = ctx.pool.adapter(s.adapter)?.slices.get(s.entry);
  return !live?.heldBy && placementOf(a, s) !== undefined;
}

const sliceName = (s: { adapter: string; entry: number; base: number; length: number }) =>
  `${s.adapter}#${s.entry} [${s.base}, +${s.length})`;

/** One move under the allocation's lock (reserve) and then the copy and commit (finishMove). */
async function moveOne(
  ctx: GrmContext,
  m: DefragMove,
): Promise<{ after: StoredAllocation; index: number; at: number }> {
  const id = m.from.allocation;
  const move = await ctx.locks.run(id, async () => {
    const a = ctx.allocations.get(id);
    const where = a && placementOf(a, m.from);
    if (!a || !where || !movableNow(ctx, m.from))
      throw new RaError(GrmCode.CONFLICT, `allocation ${id} changed while the pool was defragmented; retry`);
    const target = ctx.pool.adapter(m.to.adapter);
    if (!target || target.lowestFreeEntry < 0)
      throw new RaError(GrmCode.CONFLICT, `adapter ${m.to.adapter} has no free slice entry any more; retry`);
    const to = { ...m.to, entry: target.lowestFreeEntry };
    const from = { adapter: m.from.adapter, entry: m.from.entry, base: m.from.base, length: m.from.length };
    await revokeGrants(ctx, a); // moved contents are reached through new grants only (ra-spec §18.6)
    return reserveMove(
      ctx,
      a,
      where.index,
      m.from,
      { kind: 'migrate', from, to },
      where.resource.bytes ?? m.from.length,
      where.at,
    );
  });
  return { after: await finishMove(ctx, move), index: move.index, at: move.placement };
}

/** Runs the plan's moves in order; the first failure stops them and is rethrown with what was done. */
async function execute(
  ctx: GrmContext,
  plan: DefragPlan,
  o: DefragOptions,
  bytes: number,
): Promise<DefragReport> {
  const t0 = performance.now();
  const report: DefragReport = { moves: 0, movedBytes: 0, ms: 0, endedAtMs: 0, moved: [] };
  for (const m of plan.moves) {
    let moved: Awaited<ReturnType<typeof moveOne>>;
    try {
      moved = await moveOne(ctx, m);
    } catch (err) {
      throw new RaError(
        GrmCode.RESOURCE_UNAVAILABLE,
        `defragmentation stopped after ${report.moves} of ${plan.moves.length} move(s) (${report.movedBytes} bytes ` +
          `moved, each allocation whole where it is): ${(err as Error).message}; the request was not placed, retry it`,
        { why: 'DEFRAG_FAILED', movedBytes: report.movedBytes },
      );
    }
    const { after, index, at } = moved;
    const p = after.resources[index]!.placements[at]!;
    const to = sliceName({ adapter: p.adapter, entry: p.slice, base: p.offset ?? 0, length: p.bytes ?? 0 });
    report.moves++;
    report.movedBytes += m.from.length;
    report.moved.push({ allocation: after.id, from: sliceName(m.from), to });
    const detail =
      `memory slice ${sliceName(m.from)} moved to ${to} to make room for a request of ${bytes} bytes; ` +
      'contents copied by DMA; grants revoked: request them again';
    o.record(after, { at: new Date().toISOString(), action: 'migrated', detail, resource: index });
    ctx.events.record({
      kind: 'migrated',
      allocation: after.id,
      tenant: after.tenant,
      adapters: adaptersOf(after),
      detail,
    });
  }
  report.ms = performance.now() - t0;
  report.endedAtMs = Date.now();
  return report;
}

/**
 * Makes room for `request` whose plan failed with `failure`, when only fragmentation stands in the way.
 * Returns undefined when defragmentation cannot help (the caller refuses with the plan's failure);
 * throws RESOURCE_UNAVAILABLE naming the budget when the cheapest moves exceed it (nothing moved).
 */
export async function defragmentFor(
  ctx: GrmContext,
  request: PlacementRequest,
  failure: PlanFailure,
  o: DefragOptions,
): Promise<DefragReport | undefined> {
  const { kind, why, resourceIndex } = failure.details;
  const resource = request.resources[resourceIndex];
  if (kind !== 'memory' || !FRAGMENTATION.has(why) || resource?.kind !== 'memory') return undefined;
  const index = await ctx.pool.ready();
  const result = planDefrag(index.toInventory(), {
    request,
    bytes: resource.bytes,
    budgetBytes: o.budgetBytes,
    movable: (s) => movableNow(ctx, s),
  });
  if (!result.ok) {
    if (result.why === 'NO_ROOM') return undefined;
    throw new RaError(
      GrmCode.RESOURCE_UNAVAILABLE,
      `${failure.details.message}; ${result.message}: raise the budget or ask for less`,
      {
        resource: resourceIndex,
        why: 'DEFRAG_BUDGET',
        budgetBytes: o.budgetBytes,
        neededBytes: result.cheapestBytes,
      },
    );
  }
  const report = await execute(ctx, result.plan, o, resource.bytes);
  ctx.log.info(
    {
      adapter: result.plan.adapter,
      moves: report.moves,
      movedBytes: report.movedBytes,
      ms: Math.round(report.ms),
    },
    'defragmented',
  );
  return report;
}
