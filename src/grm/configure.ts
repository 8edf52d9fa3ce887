// Configuring an allocation's slices on the adapters: the adapters of one allocation are configured in
// parallel, each in plan order (a slot's bitstream load before the context slices that use it); any
// failure waits for every adapter to settle, then releases every slice that was programmed, so one
// allocation stays atomic across adapters (DESIGN "Boundaries that matter").
import { DeviceCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import type { PlannedSlice } from '../rvl/index.js';
import type { GrmContext } from './context.js';
import { GrmCode } from './types.js';

export interface Configuration {
  id: string;
  ownerKey: string;
  placements: readonly PlannedSlice[];
  /** The catalog id to load for a placement's planned load. */
  loadOf(load: NonNullable<PlannedSlice['loadBitstream']>): { bitstream: string };
  /** Contexts to program for a context slice (a logic bitstream may provide fewer than planned). */
  lengthOf?(p: PlannedSlice): number;
}

function byAdapter(placements: readonly PlannedSlice[]): PlannedSlice[][] {
  const groups = new Map<string, PlannedSlice[]>();
  for (const p of placements) {
    const g = groups.get(p.adapter);
    if (g) g.push(p);
    else groups.set(p.adapter, [p]);
  }
  return [...groups.values()];
}

/** Programs every placement; on failure, releases what was programmed and throws CONFLICT or ADAPTER_FAILURE. */
export async function configure(ctx: GrmContext, c: Configuration): Promise<void> {
  const programmed: PlannedSlice[] = [];
  const one = async (group: PlannedSlice[]) => {
    const loaded = new Set<number>();
    for (const p of group) {
      if (p.loadBitstream && p.slot !== undefined && !loaded.has(p.slot)) {
        // Never forced: force would evict other tenants' contexts (ra-spec §5); a busy slot means the
        // index was stale, and SLOT_BUSY rolls the allocation back as a conflict.
        await ctx.commands.run(p.adapter, 'load', { slot: p.slot, ...c.loadOf(p.loadBitstream) }).then(
          () => ctx.metrics.bitstreamLoad(p.adapter),
          (err: unknown) => {
            ctx.metrics.bitstreamLoad(p.adapter, err);
            throw err;
          },
        );
        loaded.add(p.slot);
      }
      await ctx.commands.run(p.adapter, 'program', {
        entry: p.entry,
        kind: p.kind,
        base: p.base,
        length: c.lengthOf ? c.lengthOf(p) : p.length,
        ...(p.slot !== undefined ? { slot: p.slot } : {}),
        ownerKey: c.ownerKey,
      });
      programmed.push(p);
    }
  };
  const results = await Promise.allSettled(byAdapter(c.placements).map(one));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return;
  const e = failed.reason as RaError;
  ctx.log.warn({ allocation: c.id, err: e.message }, 'configuration failed: rolling back');
  await unprogram(ctx, c.id, c.ownerKey, programmed);
  throw new RaError(
    e.code === DeviceCode.OVERLAP || e.code === DeviceCode.NO_RESOURCE || e.code === DeviceCode.SLOT_BUSY
      ? GrmCode.CONFLICT
      : GrmCode.ADAPTER_FAILURE,
    `configuring the adapters failed and was rolled back: ${e.message}`,
    { cause: e.code },
  );
}

/** Releases programmed slices (all adapters in parallel); a failure is logged and left to reconciliation. */
export async function unprogram(
  ctx: GrmContext,
  id: string,
  ownerKey: string,
  programmed: readonly { adapter: string; entry: number }[],
): Promise<void> {
  await Promise.all(
    programmed.map((p) =>
      ctx.commands
        .run(p.adapter, 'release', { entry: p.entry, ownerKey })
        .catch((e: Error) =>
          ctx.log.error(
            { allocation: id, adapter: p.adapter, entry: p.entry, err: e.message },
            'rollback could not release a slice; reconciliation will',
          ),
        ),
    ),
  );
}
