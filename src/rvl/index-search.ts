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
import { ALL_SERVERS, type Catalog, type Found, found, quantityList } from './catalog.js';
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

/** One kind of indexed search: how it scores the used adapters, and how it asks the lists. */
interface GroupSearch {
  /** The best answer among these used adapters (scored whole). */
  fromUsed(adapters: AdapterState[]): IndexedPiece | undefined;
  /** The best answer among new adapters of that health and server (a number, or ALL_SERVERS). */
  fromNew(health: AdapterHealth, server: number): IndexedPiece | undefined;
}

/**
 * Runs the groups in score order: for each locality, the used adapters (scored whole by `fromUsed`),
 * then the new ones per health (`fromNew` answers from the lists of that health and server).
 */
function searchGroups(
  context: ResourceContext,
  space: SearchSpace,
  search: GroupSearch,
): IndexedPiece | undefined {
  const server = context.policy.sameServer;
  if (server === undefined) return searchLocality(context, space, undefined, ALL_SERVERS, search);
  const local = searchLocality(context, space, true, space.catalog.serverNumber(server), search);
  return local !== undefined ? local : searchLocality(context, space, false, ALL_SERVERS, search);
}

/** One locality of searchGroups: its used adapters, then its new ones, healthy before degraded. */
function searchLocality(
  context: ResourceContext,
  space: SearchSpace,
  local: boolean | undefined,
  where: number,
  search: GroupSearch,
): IndexedPiece | undefined {
  if (context.used.size > 0) {
    const used = search.fromUsed(usedAdapters(space, context, local));
    if (used !== undefined) return used;
  }
  if (!mayAddAdapters(context)) return undefined;
  const healthy = search.fromNew('healthy', where);
  if (healthy !== undefined || !context.policy.allowDegraded) return healthy;
  return search.fromNew('degraded', where);
}

/**
 * New to the request, and chosen by the resource's selector if it has one; undefined when every adapter
 * is (no adapter used yet, no selector): the list's first entry is then the answer, and the search
 * reads no adapter to find it.
 */
function isNew(context: ResourceContext): ((a: AdapterState) => boolean) | undefined {
  const selector = context.selector;
  if (selector) return newAndSelected(context, selector);
  return context.used.size === 0 ? undefined : newOnly(context);
}

// The closures of isNew and firstPreferringIdle are made in functions of their own: V8 allocates the
// context of a function that creates a closure on every call, even when the call creates none.
function newAndSelected(context: ResourceContext, selector: (a: AdapterState) => boolean) {
  return (a: AdapterState) => !context.used.has(a.id) && selector(a);
}

function newOnly(context: ResourceContext) {
  return (a: AdapterState) => !context.used.has(a.id);
}

function notBusy(accept: ((a: AdapterState) => boolean) | undefined, busy: (id: string) => boolean) {
  return (a: AdapterState) => (!accept || accept(a)) && !busy(a.id);
}

/**
 * What the searches write their list answers into. Planning is synchronous and each answer is turned
 * into a piece before the next search starts, so two shared objects serve every plan (issue 11: a
 * plan that allocates less is hit by fewer scavenges, and a scavenge at 10,000 adapters costs
 * milliseconds).
 */
const FOUND = found();
const BEST = found();

/**
 * The first accepted entry of a list with first number >= `k0`, preferring an adapter that is not busy
 * (context.busy): the load-aware tie-break. Without the hint, or when every accepted adapter is busy,
 * the plain first. Written into `out`; false when the list has none.
 */
function firstPreferringIdle(
  space: SearchSpace,
  context: ResourceContext,
  name: string,
  health: AdapterHealth,
  server: number,
  k0: number,
  accept: ((a: AdapterState) => boolean) | undefined,
  out: Found,
): boolean {
  const busy = context.busy;
  if (busy && space.catalog.first(name, health, server, k0, notBusy(accept, busy), out)) return true;
  return space.catalog.first(name, health, server, k0, accept, out);
}

function copyFound(from: Found, to: Found): void {
  to.k0 = from.k0;
  to.k1 = from.k1;
  to.k2 = from.k2;
  to.k3 = from.k3;
  to.a = from.a;
}

/** Best fit over one extent: the smallest free extent that holds the aligned need. */
class ExtentSearch implements GroupSearch {
  constructor(
    private readonly space: SearchSpace,
    private readonly kind: QuantityKind,
    private readonly need: number,
    private readonly context: ResourceContext,
  ) {}

  fromUsed(adapters: AdapterState[]): IndexedPiece | undefined {
    const { kind, need, context } = this;
    const fits = adapters.flatMap((a) => {
      const length = roundUp(need, alignment(a, kind));
      return freeExtents(a, kind)
        .filter((e) => e.length >= length)
        .map((e) => ({ a, e, length }));
    });
    const best = pickBest(fits, (f) => [...adapterScore(f.a, context), f.e.length - f.length]);
    return best && { piece: quantityPiece(best.a, kind, best.e.base, best.length, need), adapter: best.a };
  }

  fromNew(health: AdapterHealth, server: number): IndexedPiece | undefined {
    const { space, kind, need, context } = this;
    const aligns = kind === 'memory' ? space.catalog.memoryAligns : COMPUTE_ALIGNS;
    const name = kind === 'memory' ? undefined : quantityList(kind, 1);
    const accept = isNew(context);
    const busy = context.busy;
    let bestLength = -1;
    let bestBusy = 0;
    for (let i = 0; i < aligns.length; i++) {
      const align = aligns[i]!;
      const length = roundUp(need, align);
      const list = name ?? quantityList(kind, align);
      if (!firstPreferringIdle(space, context, list, health, server, length, accept, FOUND)) continue;
      const foundBusy = busy?.(FOUND.a!.id) ? 1 : 0;
      const better =
        bestLength < 0 ||
        foundBusy < bestBusy ||
        (foundBusy === bestBusy &&
          (FOUND.k0 - length < BEST.k0 - bestLength ||
            (FOUND.k0 - length === BEST.k0 - bestLength && FOUND.k1 < BEST.k1)));
      if (better) {
        copyFound(FOUND, BEST);
        bestLength = length;
        bestBusy = foundBusy;
      }
    }
    if (bestLength < 0) return undefined;
    const a = BEST.a!;
    BEST.a = undefined; // the shared object holds no adapter state between plans
    FOUND.a = undefined;
    return { piece: quantityPiece(a, kind, BEST.k2, bestLength, need), adapter: a };
  }
}

/** Best fit over one extent: the smallest free extent that holds the aligned need. */
export function indexedSingleExtent(
  space: SearchSpace,
  kind: QuantityKind,
  need: number,
  context: ResourceContext,
): IndexedPiece | undefined {
  return searchGroups(context, space, new ExtentSearch(space, kind, need, context));
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
class AcceleratorSearch implements GroupSearch {
  constructor(
    private readonly space: SearchSpace,
    private readonly fn: string,
    private readonly contexts: number,
    private readonly context: ResourceContext,
  ) {}

  fromUsed(adapters: AdapterState[]): IndexedPiece | undefined {
    const { fn, contexts } = this;
    return named(
      this.space,
      bestUsedOption(adapters, this.context, (a) => acceleratorOptions(a, fn, contexts)),
    );
  }

  fromNew(health: AdapterHealth, server: number): IndexedPiece | undefined {
    const { space, fn, contexts, context } = this;
    const lists = space.catalog.functionLists(fn);
    const fresh = isNew(context);
    if (firstPreferringIdle(space, context, lists.reuse, health, server, contexts, fresh, FOUND)) {
      const a = FOUND.a!;
      FOUND.a = undefined;
      return {
        piece: { kind: 'context', adapter: a.id, base: FOUND.k3, length: contexts, slot: FOUND.k2 },
        adapter: a,
      };
    }
    return (
      this.load(lists.empty, true, health, server, fresh) ??
      this.load(lists.idle, false, health, server, fresh)
    );
  }

  /** An empty (or idle) slot to load the function into, from that list. */
  private load(
    list: string,
    empty: boolean,
    health: AdapterHealth,
    server: number,
    fresh: ((a: AdapterState) => boolean) | undefined,
  ): IndexedPiece | undefined {
    const { space, fn, contexts, context } = this;
    if (!firstPreferringIdle(space, context, list, health, server, contexts, fresh, FOUND)) return undefined;
    const a = FOUND.a!;
    FOUND.a = undefined;
    const slot = empty ? a.firstEmptySlot : firstSlot(a, (s) => s.idle && s.function !== fn);
    return loadPiece(a, slot, contexts, { function: fn });
  }
}

export function indexedAcceleratorSlot(
  space: SearchSpace,
  fn: string,
  contexts: number,
  context: ResourceContext,
): IndexedPiece | undefined {
  return searchGroups(context, space, new AcceleratorSearch(space, fn, contexts, context));
}

/** Logic: the first adapter (id order) with an empty slot, else the first with an idle one. */
export function indexedLogicSlot(
  space: SearchSpace,
  bitstream: string,
  context: ResourceContext,
): IndexedPiece | undefined {
  return searchGroups(context, space, {
    fromUsed: (adapters) =>
      named(
        space,
        bestUsedOption(adapters, context, (a) => logicOptions(a, bitstream)),
      ),
    fromNew: (health, server) => {
      const fresh = isNew(context);
      for (const [list, tier] of [
        ['E', SlotTier.EMPTY],
        ['I', SlotTier.REPLACE_IDLE],
      ] as const) {
        if (!firstPreferringIdle(space, context, list, health, server, 0, fresh, FOUND)) continue;
        const a = FOUND.a!;
        FOUND.a = undefined;
        const slot = tier === SlotTier.EMPTY ? a.firstEmptySlot : firstSlot(a, (s) => s.idle);
        return loadPiece(a, slot, a.contextsPerEngine, { bitstream });
      }
      return undefined;
    },
  });
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
