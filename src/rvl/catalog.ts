// The ordered lists of the live index: which adapters can answer a question, sorted so the best answer
// is the first one the list yields. Every list exists twice, per server and for the whole pool ('*'),
// and per health (healthy, degraded); unhealthy adapters and adapters with a full slice table are in
// none (they can take no new slice). Keys end with the adapter's rank (id order), so ties break as the
// from-scratch strategies break them: lowest id, then lowest slot, then lowest base.
//
//   m|<align>  free memory extents of adapters with that alignment   (length, rank, base)
//   c          free compute extents                                 (length, rank, base)
//   x|<fn>     free context ranges of slots with function fn loaded (length, rank, slot, base)
//   e|<fn>     adapters supporting fn with an empty slot            (contextsPerEngine, rank)
//   i|<fn>     adapters supporting fn with an idle slot not running fn (contextsPerEngine, rank)
//   E, I       adapters with an empty / an idle slot (logic)       (0, rank)
//
// The lists hold keys only (sorted-list.ts: numbers, no object per entry); the rank names the adapter.
import type { AdapterState } from './adapter-state.js';
import type { Extent, ExtentChange } from './extents.js';
import type { AdapterHealth } from './inventory.js';
import type { QuantityKind } from './quantities.js';
import { ServerNumbers } from './server-numbers.js';
import {
  type Keyed,
  type MutableKeyed,
  type RowCode,
  rowAtLeast,
  rowCodeOf,
  rowKeyInto,
  rowRank,
  SortedList,
} from './sorted-list.js';

/** An entry a search found (Catalog.first writes it), with the adapter its rank names. */
export interface Found extends MutableKeyed {
  a: AdapterState | undefined;
}

/** A Found to fill (the caller keeps it while it compares answers). */
export const found = (): Found => ({ k0: 0, k1: 0, k2: 0, k3: 0, a: undefined });

/** A slot-derived membership: the list's name and the key listed there. */
type Membership = [list: string, key: Keyed];

/** Extent lists pack (rank, base): every base there is a multiple of the list's alignment. */
function packUnitOf(name: string): number | undefined {
  return name === 'c' ? 1 : name.startsWith('m|') ? Number(name.slice(2)) : undefined;
}

/** Numbers per key: extents (length, rank, base), contexts (length, rank, slot, base), else 2. */
function widthOf(name: string): 2 | 3 | 4 {
  return name === 'c' || name.startsWith('m|') ? 3 : name.startsWith('x|') ? 4 : 2;
}

/** Where an attached adapter is listed: the health and server it was listed under, and its slot entries. */
interface Listing {
  health: AdapterHealth;
  /** The group every entry of the adapter goes into besides the whole pool's. */
  group: Group;
  slotEntries: Membership[];
}

/** One health on one server (or on the whole pool, server ALL), as numbers. */
interface Group {
  readonly health: number;
  readonly server: number;
}

/**
 * The lists of one name: per health, the whole pool's and each server's, servers by number. Found
 * without building or hashing a group name (issue 11: at 10,000 adapters a map of 5,000 groups costs
 * cache misses on every probe).
 */
interface Family {
  readonly width: 2 | 3 | 4;
  readonly packUnit: number | undefined;
  readonly all: (SortedList | undefined)[];
  readonly byServer: (SortedList | undefined)[][];
  /**
   * Per health, each server's list again as a row of ROW numbers [count, keys...] in one array, each
   * key one number (RowCode: dense extents, (k0, rank) pairs, context ranges), when it holds at most
   * ROW - 1 keys that fit; count -1 when it does not (then the list answers). A sameServer search
   * reads one row (one cache line) instead of the list, its chunk array, the chunk and its elements
   * (issue 11: four cache misses per list asked at 10,000 adapters; an accelerator request asks up
   * to three lists per locality).
   */
  readonly rows: (Float64Array | undefined)[];
  readonly code: RowCode;
}

/** Numbers per server row (Family.rows): a count and up to seven keys, 64 bytes. */
const ROW = 8;

/** Where a search looks: the whole pool, or a server's number (Catalog.serverNumber). */
export const ALL_SERVERS = -1;
/** A server with no listed adapter: every list there is empty. */
export const NO_SERVER = -2;
/** Health codes of the listed healths (unhealthy adapters are in no list). */
const HEALTHS: readonly AdapterHealth[] = ['healthy', 'degraded'];
const healthCode = (h: AdapterHealth): number => (h === 'healthy' ? 0 : 1);

/** `m|<align>` names by alignment, built once (a planner asks for them on every memory request). */
const memoryListNames = new Map<number, string>();

export function quantityList(kind: QuantityKind, alignBytes: number): string {
  if (kind !== 'memory') return 'c';
  let name = memoryListNames.get(alignBytes);
  if (name === undefined) {
    name = `m|${alignBytes}`;
    memoryListNames.set(alignBytes, name);
  }
  return name;
}

/** The names of the three lists an accelerator request of one function asks. */
export interface FunctionLists {
  /** `x|fn`: free contexts of loaded engines. */
  readonly reuse: string;
  /** `e|fn`: an empty slot to load it into. */
  readonly empty: string;
  /** `i|fn`: an idle slot running something else. */
  readonly idle: string;
}

function extentEntry(a: AdapterState, e: Extent): Keyed {
  return { k0: e.length, k1: a.rank, k2: e.base, k3: 0 };
}

function slotMemberships(a: AdapterState): Membership[] {
  const out: Membership[] = [];
  let anyEmpty = false;
  let anyIdle = false;
  for (const slot of a.slots) {
    anyEmpty ||= slot.empty;
    anyIdle ||= slot.idle;
    if (slot.empty || slot.function === undefined) continue;
    for (const r of slot.freeContexts)
      out.push([`x|${slot.function}`, { k0: r.length, k1: a.rank, k2: slot.index, k3: r.base }]);
  }
  const engine = { k0: a.contextsPerEngine, k1: a.rank, k2: 0, k3: 0 };
  for (const fn of new Set(a.functionsSupported)) {
    if (anyEmpty) out.push([`e|${fn}`, engine]);
    if (a.slots.some((s) => s.idle && s.function !== fn)) out.push([`i|${fn}`, engine]);
  }
  const byRank = { k0: 0, k1: a.rank, k2: 0, k3: 0 };
  if (anyEmpty) out.push(['E', byRank]);
  if (anyIdle) out.push(['I', byRank]);
  return out;
}

function sameKey(x: Keyed, y: Keyed): boolean {
  return x.k0 === y.k0 && x.k1 === y.k1 && x.k2 === y.k2 && x.k3 === y.k3;
}

/**
 * `accept` over ranks. Made here, not inline in Catalog.first: V8 allocates the context of a function
 * that creates a closure on every call, even a call that does not create it (issue 11: allocation).
 */
function byRankFilter(byRank: readonly AdapterState[], accept: (a: AdapterState) => boolean) {
  return (rank: number) => accept(byRank[rank]!);
}

export class Catalog {
  /** list name -> its lists per health and server. */
  private readonly lists = new Map<string, Family>();
  private readonly listed = new Map<AdapterState, Listing>();
  /** The adapter of each rank (every key's second number). */
  private readonly byRank: AdapterState[] = [];
  /** Memory alignments present in the pool: a memory search asks each of their lists. */
  readonly memoryAligns: number[] = [];
  /** List names per function: for functions some list was ever made for, as the names are. */
  private readonly functions = new Map<string, FunctionLists>();
  /** Servers by number, in the order their first adapter was listed. */
  private readonly servers = new ServerNumbers();

  /** One group per server and health, shared by its adapters' listings. */
  private readonly groups: Group[][] = [];
  /** List names of slot entries (`x|fn`, `e|fn`, ...) as one string each, shared by every listing. */
  private readonly names = new Map<string, string>();

  /**
   * The list names for accelerator requests of `fn`, built once per function the catalog lists (a
   * function no list names gets fresh names: its lists do not exist, every search there is empty).
   */
  functionLists(fn: string): FunctionLists {
    return this.functions.get(fn) ?? { reuse: `x|${fn}`, empty: `e|${fn}`, idle: `i|${fn}` };
  }

  /** The number a search names `server` by (NO_SERVER when no adapter of it was ever listed). */
  serverNumber(server: string): number {
    const n = this.servers.numberOf(server);
    return n < 0 ? NO_SERVER : n;
  }

  private groupOf(health: AdapterHealth, server: string): Group {
    const n = this.servers.add(server);
    const h = healthCode(health);
    this.groups[h] ??= [];
    const byServer = this.groups[h]!;
    let group = byServer[n];
    if (!group) {
      group = { health: h, server: n };
      byServer[n] = group;
    }
    return group;
  }

  /** `a`'s slot entries with their list names interned (an adapter's listing lives as long as it does). */
  private interned(entries: Membership[]): Membership[] {
    for (const m of entries) {
      const name = this.names.get(m[0]);
      if (name === undefined) this.names.set(m[0], m[0]);
      else m[0] = name;
    }
    return entries;
  }

  private put(name: string, group: Group, entry: Keyed): void {
    let family = this.lists.get(name);
    if (!family) {
      const width = widthOf(name);
      const packUnit = packUnitOf(name);
      family = { width, packUnit, all: [], byServer: [], rows: [], code: rowCodeOf(width) };
      this.lists.set(name, family);
      const fn = /^[xei]\|/.test(name) ? name.slice(2) : undefined;
      if (fn !== undefined && !this.functions.has(fn))
        this.functions.set(fn, { reuse: `x|${fn}`, empty: `e|${fn}`, idle: `i|${fn}` });
    }
    const h = group.health;
    family.byServer[h] ??= [];
    const byServer = family.byServer[h]!;
    byServer[group.server] ??= new SortedList(family.width, family.packUnit);
    family.all[h] ??= new SortedList(family.width, family.packUnit);
    byServer[group.server]!.insert(entry);
    family.all[h]!.insert(entry);
    this.mirror(family, h, group.server);
  }

  /** Copies a server's list into its row (Family.rows) after an edit. */
  private mirror(family: Family, h: number, server: number): void {
    let rows = family.rows[h];
    const at = server * ROW;
    if (!rows || rows.length < at + ROW) {
      // Rows of servers with no list yet hold count 0: an empty list, as the list says.
      const grown = new Float64Array(Math.max(at + ROW, 2 * (rows?.length ?? 0)));
      if (rows) grown.set(rows);
      family.rows[h] = grown;
      rows = grown;
    }
    const list = family.byServer[h]![server]!;
    rows[at] = list.rowInto(rows, at + 1, ROW - 1);
  }

  private take(name: string, group: Group, entry: Keyed): void {
    const family = this.lists.get(name);
    const h = group.health;
    if (!family?.byServer[h]?.[group.server]?.remove(entry))
      throw new Error(
        `internal: ${name} entry missing from the ${HEALTHS[h]}|${this.servers.nameOf(group.server)} list`,
      );
    if (!family.all[h]?.remove(entry))
      throw new Error(`internal: ${name} entry missing from the ${HEALTHS[h]}|* list`);
    this.mirror(family, h, group.server);
  }

  /**
   * The first entry of list `name` for that health and server (a number: serverNumber(), or
   * ALL_SERVERS) whose first number is >= `k0` and whose adapter `accept` takes (with no `accept`,
   * the first such entry), written into `out`; false when there is none. Allocates nothing without
   * `accept` (issue 11: a plan's allocations decide how often a scavenge lands in it).
   */
  first(
    name: string,
    health: AdapterHealth,
    server: number,
    k0: number,
    accept: ((a: AdapterState) => boolean) | undefined,
    out: Found,
  ): boolean {
    const family = this.lists.get(name);
    if (!family || server === NO_SERVER) return false;
    const h = healthCode(health);
    if (server !== ALL_SERVERS) {
      const rows = family.rows[h];
      const at = server * ROW;
      // No row yet: no list of this server was ever edited, so there is none.
      if (!rows || at >= rows.length) return false;
      const count = rows[at]!;
      if (count >= 0) return this.firstInRow(rows, at, count, family, k0, accept, out);
    }
    const list = server === ALL_SERVERS ? family.all[h] : family.byServer[h]?.[server];
    if (!list?.findAtLeast(k0, accept && byRankFilter(this.byRank, accept), out)) return false;
    out.a = this.byRank[out.k1]!;
    return true;
  }

  /** SortedList.findAtLeast over a server row: its keys are the list's, in the list's order. */
  private firstInRow(
    rows: Float64Array,
    at: number,
    count: number,
    family: Family,
    k0: number,
    accept: ((a: AdapterState) => boolean) | undefined,
    out: Found,
  ): boolean {
    const code = family.code;
    const unit = family.packUnit ?? 1;
    const least = rowAtLeast(code, k0, unit);
    for (let i = at + 1; i <= at + count; i++) {
      const n = rows[i]!;
      if (n < least) continue;
      const a = this.byRank[rowRank(code, n)]!;
      if (accept && !accept(a)) continue;
      rowKeyInto(code, n, unit, out);
      out.a = a;
      return true;
    }
    return false;
  }

  isListed(a: AdapterState): boolean {
    return this.listed.has(a);
  }

  /** Lists `a` everywhere it belongs, if it can take a new slice at all. */
  attach(a: AdapterState): void {
    if (!a.eligible || this.listed.has(a)) return;
    if (!this.memoryAligns.includes(a.memoryAlignBytes)) this.memoryAligns.push(a.memoryAlignBytes);
    this.byRank[a.rank] = a;
    const group = this.groupOf(a.health, a.server);
    const memory = quantityList('memory', a.memoryAlignBytes);
    for (const e of a.freeMemory) this.put(memory, group, extentEntry(a, e));
    for (const e of a.freeCompute) this.put('c', group, extentEntry(a, e));
    const slotEntries = this.interned(slotMemberships(a));
    for (const [name, entry] of slotEntries) this.put(name, group, entry);
    this.listed.set(a, { health: a.health, group, slotEntries });
  }

  /** Removes `a` from every list (before a change of health, rank or eligibility). */
  detach(a: AdapterState): void {
    const listing = this.listed.get(a);
    if (!listing) return;
    const memory = quantityList('memory', a.memoryAlignBytes);
    for (const e of a.freeMemory) this.take(memory, listing.group, extentEntry(a, e));
    for (const e of a.freeCompute) this.take('c', listing.group, extentEntry(a, e));
    for (const [name, entry] of listing.slotEntries) this.take(name, listing.group, entry);
    this.listed.delete(a);
  }

  /** Mirrors an edit of `a`'s free extents of one kind (the edit is already done on `a`). */
  extentsChanged(a: AdapterState, kind: QuantityKind, change: ExtentChange): void {
    const listing = this.listed.get(a);
    if (!listing) return;
    const name = quantityList(kind, a.memoryAlignBytes);
    for (const e of change.removed) this.take(name, listing.group, extentEntry(a, e));
    for (const e of change.added) this.put(name, listing.group, extentEntry(a, e));
  }

  /**
   * Re-lists `a`'s slot entries after a change of its slots: only the entries that changed leave and
   * join their lists, and the unchanged ones keep their objects (issue 11: a context slice changes one
   * or two of an adapter's dozen slot entries; re-listing them all made garbage that, at 10,000
   * adapters, survives into the old generation and slows every scavenge).
   */
  slotsChanged(a: AdapterState): void {
    const listing = this.listed.get(a);
    if (!listing) return;
    const next = slotMemberships(a);
    const old = listing.slotEntries;
    const kept: boolean[] = new Array(next.length).fill(false);
    const entries: Membership[] = [];
    for (const m of old) {
      const same = next.findIndex((n, i) => !kept[i] && n[0] === m[0] && sameKey(n[1], m[1]));
      if (same < 0) this.take(m[0], listing.group, m[1]);
      else {
        kept[same] = true;
        entries.push(m);
      }
    }
    if (entries.length === old.length && entries.length === next.length) return;
    const added = this.interned(next.filter((_, i) => !kept[i]));
    for (const [name, entry] of added) this.put(name, listing.group, entry);
    listing.slotEntries = entries.concat(added);
  }

  /**
   * Every list's content against what the adapters' present state says it must be: the index's own
   * invariant, checked by the property tests after each step. Returns the differences (empty when none).
   */
  differences(adapters: Iterable<AdapterState>): string[] {
    const expected = new Map<string, string[]>();
    const note = (name: string, a: AdapterState, e: Keyed) => {
      for (const where of [a.server, '*']) {
        const key = `${name}#${a.health}|${where}`;
        expected.set(key, [...(expected.get(key) ?? []), `${e.k0},${e.k1},${e.k2},${e.k3}`]);
      }
    };
    const problems: string[] = [];
    for (const a of adapters) {
      if (a.eligible !== this.listed.has(a))
        problems.push(`${a.id}: listed=${this.listed.has(a)}, eligible=${a.eligible}`);
      if (!a.eligible) continue;
      for (const e of a.freeMemory) note(quantityList('memory', a.memoryAlignBytes), a, extentEntry(a, e));
      for (const e of a.freeCompute) note('c', a, extentEntry(a, e));
      for (const [name, entry] of slotMemberships(a)) note(name, a, entry);
    }
    const all = [...this.lists].flatMap(([name, family]) =>
      HEALTHS.flatMap((health, h) => [
        ...(family.all[h] ? [[`${name}#${health}|*`, family.all[h]] as const] : []),
        ...(family.byServer[h] ?? []).flatMap((list, n) =>
          list ? [[`${name}#${health}|${this.servers.nameOf(n)}`, list] as const] : [],
        ),
      ]),
    );
    for (const [key, list] of all) {
      const want = (expected.get(key) ?? []).sort().join(' ');
      const have = list
        .toArray()
        .map((e) => `${e.k0},${e.k1},${e.k2},${e.k3}`)
        .sort()
        .join(' ');
      if (want !== have) problems.push(`list ${key}: holds [${have}], state says [${want}]`);
      expected.delete(key);
    }
    for (const [key, want] of expected)
      if (want.length) problems.push(`list ${key} missing: [${want.join(' ')}]`);
    problems.push(...this.rowDifferences());
    return problems;
  }

  /**
   * Server rows (Family.rows) against the lists they copy: the row's keys, decoded as a search reads
   * them, must be the list's keys in the list's order, and a row must hold them whenever they fit.
   */
  private rowDifferences(): string[] {
    const problems: string[] = [];
    const scratch = new Float64Array(ROW - 1);
    const key = found();
    for (const [name, family] of this.lists) {
      for (const [h, rows] of family.rows.entries()) {
        if (!rows) continue;
        for (let n = 0; n * ROW < rows.length; n++) {
          const list = family.byServer[h]?.[n];
          const count = list ? list.rowInto(scratch, 0, ROW - 1) : 0;
          const at = n * ROW;
          const stored = rows[at]!;
          const keys = list ? list.toArray().map((e) => `${e.k0},${e.k1},${e.k2},${e.k3}`) : [];
          const decoded: string[] = [];
          for (let i = 0; i < stored; i++) {
            rowKeyInto(family.code, rows[at + 1 + i]!, family.packUnit ?? 1, key);
            decoded.push(`${key.k0},${key.k1},${key.k2},${key.k3}`);
          }
          const where = `row ${name}#${HEALTHS[h]}|${this.servers.nameOf(n)}`;
          if (stored !== count) problems.push(`${where}: holds ${stored} keys, the list ${count}`);
          else if (stored >= 0 && decoded.join(' ') !== keys.join(' '))
            problems.push(`${where}: reads [${decoded.join(' ')}], list holds [${keys.join(' ')}]`);
        }
      }
    }
    return problems;
  }
}
