// The `preferred` strategy's one-extent and one-slot choices answered from the catalog's ordered lists
// instead of a walk over every adapter. The score is the same (scoring.ts): same server, then adapters
// the request already uses, then healthy before degraded, then the slot tier and least left over, ties
// to the lowest id, slot and base. So the search visits groups in score order and stops at the first
// group that has an answer:
//   [local] used adapters (walked: a request uses few), new healthy, new degraded;
//   [remote] the same over the whole pool ('*' lists; local adapters there cannot fit, or the local
//   group would have answered).
// Within a group of new adapters the first entry of the right list is the best. Anything else (a
// combination of extents, a failure and its message) is left to the from-scratch code (placement.ts).
import type { AdapterState } from './adapter-state.js';
import { ALL_SERVERS, type Catalog, type Entry, quantityList } from './catalog.js';
import { roundUp } from './extents.js';
import type { AdapterHealth } from './inventory.js';
import type { CoreResource, Piece, ResourceContext } from './plan.js';
import { alignment, freeExtents, type QuantityKind, quantityPiece } from './quantities.js';
import { adapterScore, pickBest } from './scoring.js';
import { acceleratorOptions, logicOptions, type SlotOption, SlotTier, slotPiece } from './slot-options.js';

export interface SearchSpace {
  catalog: Catalog;
  adapter(id: string): AdapterState | undefined;
}

/** An indexed answer and the adapter state it names (the caller needs its lowest free entry). */
export interface IndexedPiece {
  piece: Piece;
  adapter: AdapterState;
}

/** `piece` with its adapter state, looked up by id (used adapters: the rare path). */
function named(space: SearchSpace, piece: Piece | undefined): IndexedPiece | undefined {
  return piece && { piece, adapter: space.adapter(piece.adapter)! };
}

const LOWEST = Number.NEGATIVE_INFINITY;
/** Compute extents are counted in units: one list, alignment 1. */
const COMPUTE_ALIGNS: readonly number[] = [1];

function eligibleFor(a: AdapterState, context: ResourceContext): boolean {
  return a.eligible && (a.health !== 'degraded' || context.policy.allowDegraded === true);
}

/** Used adapters on (or off) the preferred server, eligible for this request, in id order. */
function usedAdapters(
  space: SearchSpace,
  context: ResourceContext,
  local: boolean | undefined,
): AdapterState[] {
  const server = context.policy.sameServer;
  const out: AdapterState[] = [];
  for (const id of context.used) {
    const a = space.adapter(id);
    if (!a || !eligibleFor(a, context) || (context.selector && !context.selector(a))) continue;
    if (local !== undefined && (a.server === server) !== local) continue;
    out.push(a);
  }
  return out.sort((x, y) => x.rank - y.rank);
}

/** Whether adapters not yet in the request may be added (policy.maxAdapters). */
function mayAddAdapters(context: ResourceContext): boolean {
  const max = context.policy.maxAdapters;
  return max === undefined || context.used.size < max;
}

/**
 * Runs the groups in score order: for each locality, the used adapters (scored whole by `fromUsed`),
 * then the new ones per health (`fromNew` answers from the lists of that health and server).
 */
function searchGroups<T>(
  context: ResourceContext,
  space: SearchSpace,
  fromUsed: (adapters: AdapterState[]) => T | undefined,
  fromNew: (health: AdapterHealth, server: number) => T | undefined,
): T | undefined {
  const server = context.policy.sameServer;
  if (server === undefined) return searchLocality(context, space, undefined, ALL_SERVERS, fromUsed, fromNew);
  const local = searchLocality(context, space, true, space.catalog.serverNumber(server), fromUsed, fromNew);
  return local !== undefined ? local : searchLocality(context, space, false, ALL_SERVERS, fromUsed, fromNew);
}

/** One locality of searchGroups: its used adapters, then its new ones, healthy before degraded. */
function searchLocality<T>(
  context: ResourceContext,
  space: SearchSpace,
  local: boolean | undefined,
  where: number,
  fromUsed: (adapters: AdapterState[]) => T | undefined,
  fromNew: (health: AdapterHealth, server: number) => T | undefined,
): T | undefined {
  if (context.used.size > 0) {
    const used = fromUsed(usedAdapters(space, context, local));
    if (used !== undefined) return used;
  }
  if (!mayAddAdapters(context)) return undefined;
  const healthy = fromNew('healthy', where);
  if (healthy !== undefined || !context.policy.allowDegraded) return healthy;
  return fromNew('degraded', where);
}

/**
 * New to the request, and chosen by the resource's selector if it has one; undefined when every adapter
 * is (no adapter used yet, no selector): the list's first entry is then the answer, and the search
 * reads no adapter to find it.
 */
const isNew = (context: ResourceContext): ((a: AdapterState) => boolean) | undefined => {
  const selector = context.selector;
  if (selector) return (a: AdapterState) => !context.used.has(a.id) && selector(a);
  return context.used.size === 0 ? undefined : (a: AdapterState) => !context.used.has(a.id);
};

/**
 * The first accepted entry of a list, preferring an adapter that is not busy (context.busy): the
 * load-aware tie-break. Without the hint, or when every accepted adapter is busy, the plain first.
 */
function firstPreferringIdle(
  space: SearchSpace,
  context: ResourceContext,
  name: string,
  health: AdapterHealth,
  server: number,
  probe: Parameters<SearchSpace['catalog']['first']>[3],
  accept: ((a: AdapterState) => boolean) | undefined,
): Entry | undefined {
  const busy = context.busy;
  if (busy) {
    const idle = space.catalog.first(
      name,
      health,
      server,
      probe,
      (a) => (!accept || accept(a)) && !busy(a.id),
    );
    if (idle) return idle;
  }
  return space.catalog.first(name, health, server, probe, accept);
}

/** Best fit over one extent: the smallest free extent that holds the aligned need. */
export function indexedSingleExtent(
  space: SearchSpace,
  kind: QuantityKind,
  need: number,
  context: ResourceContext,
): IndexedPiece | undefined {
  const fromUsed = (adapters: AdapterState[]) => {
    const fits = adapters.flatMap((a) => {
      const length = roundUp(need, alignment(a, kind));
      return freeExtents(a, kind)
        .filter((e) => e.length >= length)
        .map((e) => ({ a, e, length }));
    });
    const best = pickBest(fits, (f) => [...adapterScore(f.a, context), f.e.length - f.length]);
    return best && { piece: quantityPiece(best.a, kind, best.e.base, best.length, need), adapter: best.a };
  };
  const fromNew = (health: AdapterHealth, server: number): IndexedPiece | undefined => {
    const aligns = kind === 'memory' ? space.catalog.memoryAligns : COMPUTE_ALIGNS;
    const accept = isNew(context);
    let best: { entry: Entry; length: number } | undefined;
    for (const align of aligns) {
      const length = roundUp(need, align);
      const entry = firstPreferringIdle(
        space,
        context,
        quantityList(kind, align),
        health,
        server,
        { k0: length, k1: LOWEST, k2: LOWEST, k3: LOWEST },
        accept,
      );
      if (!entry) continue;
      const busyness = (e: Entry) => (context.busy?.(e.a.id) ? 1 : 0);
      const better =
        !best ||
        busyness(entry) < busyness(best.entry) ||
        (busyness(entry) === busyness(best.entry) &&
          (entry.k0 - length < best.entry.k0 - best.length ||
            (entry.k0 - length === best.entry.k0 - best.length && entry.k1 < best.entry.k1)));
      if (better) best = { entry, length };
    }
    return (
      best && {
        piece: quantityPiece(best.entry.a, kind, best.entry.k2, best.length, need),
        adapter: best.entry.a,
      }
    );
  };
  return searchGroups(context, space, fromUsed, fromNew);
}

/** The best slot option among used adapters, scored exactly as placement.ts scores every option. */
function bestUsedOption(
  adapters: AdapterState[],
  context: ResourceContext,
  options: (a: AdapterState) => SlotOption[],
): Piece | undefined {
  const best = pickBest(adapters.flatMap(options), (o) => [
    ...adapterScore(o.adapter, context),
    o.tier,
    o.leftover,
  ]);
  return best && slotPiece(best);
}

function firstSlot(a: AdapterState, test: (s: AdapterState['slots'][number]) => boolean): number {
  return a.slots.findIndex(test);
}

function loadPiece(
  a: AdapterState,
  slot: number,
  length: number,
  load: Piece['loadBitstream'],
): IndexedPiece {
  return {
    piece: { kind: 'context', adapter: a.id, base: 0, length, slot, loadBitstream: load! },
    adapter: a,
  };
}

/** Accelerator: reuse a loaded engine (smallest fitting free range), else an empty slot, else an idle one. */
export function indexedAcceleratorSlot(
  space: SearchSpace,
  fn: string,
  contexts: number,
  context: ResourceContext,
): IndexedPiece | undefined {
  const lists = space.catalog.functionLists(fn);
  const fromNew = (health: AdapterHealth, server: number): IndexedPiece | undefined => {
    const fresh = isNew(context);
    const probe = { k0: contexts, k1: LOWEST, k2: LOWEST, k3: LOWEST };
    const reuse = firstPreferringIdle(space, context, lists.reuse, health, server, probe, fresh);
    if (reuse)
      return {
        piece: { kind: 'context', adapter: reuse.a.id, base: reuse.k3, length: contexts, slot: reuse.k2 },
        adapter: reuse.a,
      };
    const empty = firstPreferringIdle(space, context, lists.empty, health, server, probe, fresh);
    if (empty)
      return loadPiece(
        empty.a,
        firstSlot(empty.a, (s) => s.empty),
        contexts,
        { function: fn },
      );
    const idle = firstPreferringIdle(space, context, lists.idle, health, server, probe, fresh);
    if (idle)
      return loadPiece(
        idle.a,
        firstSlot(idle.a, (s) => s.idle && s.function !== fn),
        contexts,
        { function: fn },
      );
    return undefined;
  };
  return searchGroups(
    context,
    space,
    (adapters) =>
      named(
        space,
        bestUsedOption(adapters, context, (a) => acceleratorOptions(a, fn, contexts)),
      ),
    fromNew,
  );
}

/** Logic: the first adapter (id order) with an empty slot, else the first with an idle one. */
export function indexedLogicSlot(
  space: SearchSpace,
  bitstream: string,
  context: ResourceContext,
): IndexedPiece | undefined {
  const fromNew = (health: AdapterHealth, server: number): IndexedPiece | undefined => {
    const fresh = isNew(context);
    const probe = { k0: 0, k1: LOWEST, k2: LOWEST, k3: LOWEST };
    for (const [list, tier] of [
      ['E', SlotTier.EMPTY],
      ['I', SlotTier.REPLACE_IDLE],
    ] as const) {
      const found = firstPreferringIdle(space, context, list, health, server, probe, fresh);
      if (!found) continue;
      const a = found.a;
      const slot = firstSlot(a, (s) => (tier === SlotTier.EMPTY ? s.empty : s.idle));
      return loadPiece(a, slot, a.contextsPerEngine, { bitstream });
    }
    return undefined;
  };
  return searchGroups(
    context,
    space,
    (adapters) =>
      named(
        space,
        bestUsedOption(adapters, context, (a) => logicOptions(a, bitstream)),
      ),
    fromNew,
  );
}

/** The indexed answer for one resource, or undefined to let the from-scratch search decide. */
export function indexedPiece(
  space: SearchSpace,
  resource: CoreResource,
  context: ResourceContext,
): IndexedPiece | undefined {
  switch (resource.kind) {
    case 'memory':
      return indexedSingleExtent(space, 'memory', resource.bytes, context);
    case 'compute':
      return indexedSingleExtent(space, 'compute', resource.units, context);
    case 'accelerator':
      return indexedAcceleratorSlot(space, resource.function, resource.contexts ?? 1, context);
    case 'logic':
      return indexedLogicSlot(space, resource.bitstream, context);
    case 'adapter':
      return undefined; // whole adapters: the from-scratch walk (whole.ts)
  }
}
