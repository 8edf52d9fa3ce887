// Defragmentation by live migration, planned (issue 15 item 3): when a memory request fails only
// because free memory is cut into extents too small for it, find the cheapest set of moves of movable
// memory slices that opens one free extent large enough, and prove the whole request then fits. Pure:
// an inventory in, a plan out; the GRM executes it (copy by DMA, grants revoked, store updated).
//
// The search. The room is a window [start, start+L) of one adapter's memory (L the request's bytes,
// aligned, ra-spec §5.4); every slice overlapping it must move, so its cost is their bytes. A window
// of least cost can always slide left until its start meets 0, a slice's base or a slice's end (the
// slices it covers only change when an edge crosses one), so those starts are the only candidates:
// O(slices²) per adapter. Evicted slices go, largest first, best fit, to free extents outside the
// window: on the same adapter first (a local copy), then on other adapters of the same server (the
// copy runs on the source's server, so migration does not cross servers). Moves run one at a time:
// each needs a free slice-table entry on its destination while its source still holds its own.
// Candidates are tried cheapest first (fewest bytes, then fewest moves); the first whose moved pool
// plans the whole request wins. Best fit of the evicted slices can miss a packing an exhaustive
// search would find: then a costlier window is chosen, or none.
import { type AdapterAvailability, buildAvailability } from './availability.js';
import { type Extent, end, roundUp, withoutRange } from './extents.js';
import type { ExistingSlice, Inventory } from './inventory.js';
import type { SliceToProgram } from './plan.js';
import type { PlacementRequest } from './request.js';
import { type PlacementStrategy, preferred } from './strategies.js';

export interface DefragNeed {
  /** The request that failed, re-planned on the pool as it would be after the moves. */
  request: PlacementRequest;
  /** Bytes of the one memory resource that found no extent large enough. */
  bytes: number;
  /** Most bytes the moves may copy together. */
  budgetBytes: number;
  /** Whether this slice may be moved (its allocation's policy, nothing in flight on it). */
  movable: (s: ExistingSlice) => boolean;
}

export interface DefragMove {
  /** The slice as it is (its allocation, adapter, entry, base, length). */
  from: ExistingSlice;
  /** Where it goes; `entry` is the one free when planned (the executor takes the then-lowest). */
  to: SliceToProgram;
}

export interface DefragPlan {
  /** The adapter and extent that the moves empty. */
  adapter: string;
  window: Extent;
  moves: DefragMove[];
  movedBytes: number;
}

export type DefragResult =
  | { ok: true; plan: DefragPlan }
  | {
      ok: false;
      /** OVER_BUDGET: moves exist but copy more than the budget; NO_ROOM: no moves make room. */
      why: 'OVER_BUDGET' | 'NO_ROOM';
      message: string;
      /** OVER_BUDGET: the bytes the cheapest moves would copy. */
      cheapestBytes?: number;
    };

/** At most this many candidate windows are re-planned (each a from-scratch plan of the pool). */
export const MAX_VERIFIED_CANDIDATES = 64;

interface Candidate {
  adapter: AdapterAvailability;
  window: Extent;
  evicted: ExistingSlice[];
  movedBytes: number;
}

const overlaps = (s: Extent, w: Extent) => s.base < end(w) && w.base < end(s);

/** Window starts worth trying on one adapter (see the header), each fitting the adapter. */
function windowStarts(slices: readonly ExistingSlice[], length: number, memoryBytes: number): number[] {
  const starts = new Set<number>([0]);
  for (const s of slices) {
    starts.add(s.base);
    starts.add(end(s));
  }
  return [...starts].map((b) => Math.min(b, memoryBytes - length)).filter((b) => b >= 0);
}

/** Every window of `adapter` whose slices are all movable, with what emptying it costs. */
function candidatesOn(
  adapter: AdapterAvailability,
  slices: readonly ExistingSlice[],
  need: DefragNeed,
): Candidate[] {
  const length = roundUp(need.bytes, adapter.memoryAlignBytes);
  if (length > adapter.memoryBytes) return [];
  const memory = slices.filter((s) => s.kind === 'memory');
  const seen = new Set<number>();
  const out: Candidate[] = [];
  for (const start of windowStarts(memory, length, adapter.memoryBytes)) {
    // Bases of slices are aligned; a clamped start (memoryBytes - length) is too when both are.
    const base = roundUp(start, adapter.memoryAlignBytes);
    if (base + length > adapter.memoryBytes || seen.has(base)) continue;
    seen.add(base);
    const window = { base, length };
    const evicted = memory.filter((s) => overlaps(s, window));
    if (evicted.length === 0 || !evicted.every(need.movable)) continue; // free already, or pinned
    out.push({ adapter, window, evicted, movedBytes: evicted.reduce((n, s) => n + s.length, 0) });
  }
  return out;
}

/** What one destination adapter offers while the moves are simulated. */
interface Room {
  adapter: AdapterAvailability;
  free: Extent[];
  entries: number[];
}

/**
 * Destinations for the evicted slices, largest first and best fit: the window's adapter, then the
 * other healthy adapters of its server in id order. Undefined when one does not fit.
 */
function placeEvicted(c: Candidate, sameServer: AdapterAvailability[]): DefragMove[] | undefined {
  const rooms: Room[] = [c.adapter, ...sameServer.filter((a) => a.id !== c.adapter.id)].map((a) => ({
    adapter: a,
    free: a.freeMemory.map((e) => ({ ...e })),
    entries: [...a.freeEntries],
  }));
  const home = rooms[0]!;
  // Nothing may land in the window: take its free parts out of the home adapter's free list.
  home.free = home.free.flatMap((e) => {
    if (!overlaps(e, c.window)) return [e];
    const lo = Math.max(e.base, c.window.base);
    const hi = Math.min(end(e), end(c.window));
    return withoutRange([e], lo, hi - lo);
  });
  const moves: DefragMove[] = [];
  for (const s of [...c.evicted].sort((x, y) => y.length - x.length || x.base - y.base)) {
    let best: { room: Room; extent: Extent; length: number } | undefined;
    for (const room of rooms) {
      if (room.entries.length === 0) continue;
      const length = roundUp(s.length, room.adapter.memoryAlignBytes);
      for (const e of room.free) {
        if (e.length < length) continue;
        if (!best || e.length < best.extent.length) best = { room, extent: e, length };
      }
      if (best && room === home) break; // a local copy when the home adapter has room
    }
    if (!best) return undefined;
    const { room, extent, length } = best;
    const entry = room.entries.shift()!;
    room.free = withoutRange(room.free, extent.base, length);
    // The source entry is free once the move commits (its extent is not: it lies in the window or
    // beside it, and is not offered to later moves).
    const source = rooms.find((r) => r.adapter.id === s.adapter);
    if (source) source.entries = [...source.entries, s.entry].sort((x, y) => x - y);
    moves.push({
      from: s,
      to: { kind: 'memory', adapter: room.adapter.id, entry, base: extent.base, length },
    });
  }
  return moves;
}

/** The inventory as it would be after `moves`. */
function moved(inventory: Inventory, moves: readonly DefragMove[]): Inventory {
  const by = new Map(moves.map((m) => [`${m.from.adapter}#${m.from.entry}`, m.to]));
  return {
    adapters: inventory.adapters,
    slices: inventory.slices.map((s) => {
      const to = by.get(`${s.adapter}#${s.entry}`);
      return to ? { ...s, adapter: to.adapter, entry: to.entry, base: to.base, length: to.length } : s;
    }),
  };
}

const describe = (bytes: number) => `${bytes} bytes${bytes >= 2 ** 20 ? ` (${bytes / 2 ** 20} MiB)` : ''}`;

/** The cheapest moves that let `need.request` plan, within `need.budgetBytes`. */
export function planDefrag(
  inventory: Inventory,
  need: DefragNeed,
  strategy: PlacementStrategy = preferred,
): DefragResult {
  const availability = buildAvailability(inventory);
  const slicesOf = new Map<string, ExistingSlice[]>();
  for (const s of inventory.slices) slicesOf.set(s.adapter, [...(slicesOf.get(s.adapter) ?? []), s]);
  const healthy = availability.adapters.filter((a) => a.health === 'healthy');
  const candidates = healthy
    .flatMap((a) => candidatesOn(a, slicesOf.get(a.id) ?? [], need))
    .sort((x, y) => x.movedBytes - y.movedBytes || x.evicted.length - y.evicted.length);
  let verified = 0;
  for (const c of candidates) {
    if (verified >= MAX_VERIFIED_CANDIDATES) break;
    const moves = placeEvicted(
      c,
      healthy.filter((a) => a.server === c.adapter.server),
    );
    if (!moves) continue;
    verified++;
    if (!strategy.plan(buildAvailability(moved(inventory, moves)), need.request).ok) continue;
    if (c.movedBytes > need.budgetBytes)
      return {
        ok: false,
        why: 'OVER_BUDGET',
        cheapestBytes: c.movedBytes,
        message:
          `defragmenting would move ${describe(c.movedBytes)} of live memory, more than the defragmentation ` +
          `budget of ${describe(need.budgetBytes)} (defragBudgetBytes, serve --defrag-budget-bytes)`,
      };
    return {
      ok: true,
      plan: { adapter: c.adapter.id, window: c.window, moves, movedBytes: c.movedBytes },
    };
  }
  return {
    ok: false,
    why: 'NO_ROOM',
    message: `no moves of movable memory slices within one server open ${describe(need.bytes)} in one extent`,
  };
}
