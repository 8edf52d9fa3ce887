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
import { type Keyed, SortedList } from './sorted-list.js';

export interface Entry extends Keyed {
  readonly a: AdapterState;
}

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
  /** `health|server` and `health|*`: the two groups every entry of the adapter goes into. */
  groups: [string, string];
  slotEntries: Membership[];
}

export const ALL_SERVERS = '*';

export function quantityList(kind: QuantityKind, alignBytes: number): string {
  return kind === 'memory' ? `m|${alignBytes}` : 'c';
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

export class Catalog {
  /** list name -> group (`health|server` or `health|*`) -> ordered list. */
  private readonly lists = new Map<string, Map<string, SortedList>>();
  private readonly listed = new Map<AdapterState, Listing>();
  /** The adapter of each rank (every key's second number). */
  private readonly byRank: AdapterState[] = [];
  /** Memory alignments present in the pool: a memory search asks each of their lists. */
  readonly memoryAligns = new Set<number>();

  /** One `[health|server, health|*]` pair per server and health, shared by its adapters' listings. */
  private readonly groupPairs = new Map<string, [string, string]>();
  /** List names of slot entries (`x|fn`, `e|fn`, ...) as one string each, shared by every listing. */
  private readonly names = new Map<string, string>();

  private groupsOf(health: AdapterHealth, server: string): [string, string] {
    const key = `${health}|${server}`;
    let pair = this.groupPairs.get(key);
    if (!pair) {
      pair = [key, `${health}|${ALL_SERVERS}`];
      this.groupPairs.set(key, pair);
    }
    return pair;
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

  private put(name: string, groups: [string, string], entry: Keyed): void {
    let byGroup = this.lists.get(name);
    if (!byGroup) {
      byGroup = new Map();
      this.lists.set(name, byGroup);
    }
    for (const group of groups) {
      let list = byGroup.get(group);
      if (!list) {
        list = new SortedList(widthOf(name), packUnitOf(name));
        byGroup.set(group, list);
      }
      list.insert(entry);
    }
  }

  private take(name: string, groups: [string, string], entry: Keyed): void {
    const byGroup = this.lists.get(name);
    for (const group of groups) {
      if (!byGroup?.get(group)?.remove(entry))
        throw new Error(`internal: ${name} entry missing from the ${group} list`);
    }
  }

  /** The first entry >= probe of list `name` for that health and server whose adapter `accept` takes. */
  first(
    name: string,
    health: AdapterHealth,
    server: string,
    probe: Keyed,
    accept: (a: AdapterState) => boolean,
  ): Entry | undefined {
    const key = this.lists
      .get(name)
      ?.get(`${health}|${server}`)
      ?.find(probe, (rank) => accept(this.byRank[rank]!));
    return key && { k0: key.k0, k1: key.k1, k2: key.k2, k3: key.k3, a: this.byRank[key.k1]! };
  }

  isListed(a: AdapterState): boolean {
    return this.listed.has(a);
  }

  /** Lists `a` everywhere it belongs, if it can take a new slice at all. */
  attach(a: AdapterState): void {
    if (!a.eligible || this.listed.has(a)) return;
    this.memoryAligns.add(a.memoryAlignBytes);
    this.byRank[a.rank] = a;
    const groups = this.groupsOf(a.health, a.server);
    const memory = quantityList('memory', a.memoryAlignBytes);
    for (const e of a.freeMemory) this.put(memory, groups, extentEntry(a, e));
    for (const e of a.freeCompute) this.put('c', groups, extentEntry(a, e));
    const slotEntries = this.interned(slotMemberships(a));
    for (const [name, entry] of slotEntries) this.put(name, groups, entry);
    this.listed.set(a, { health: a.health, groups, slotEntries });
  }

  /** Removes `a` from every list (before a change of health, rank or eligibility). */
  detach(a: AdapterState): void {
    const listing = this.listed.get(a);
    if (!listing) return;
    const memory = quantityList('memory', a.memoryAlignBytes);
    for (const e of a.freeMemory) this.take(memory, listing.groups, extentEntry(a, e));
    for (const e of a.freeCompute) this.take('c', listing.groups, extentEntry(a, e));
    for (const [name, entry] of listing.slotEntries) this.take(name, listing.groups, entry);
    this.listed.delete(a);
  }

  /** Mirrors an edit of `a`'s free extents of one kind (the edit is already done on `a`). */
  extentsChanged(a: AdapterState, kind: QuantityKind, change: ExtentChange): void {
    const listing = this.listed.get(a);
    if (!listing) return;
    const name = quantityList(kind, a.memoryAlignBytes);
    for (const e of change.removed) this.take(name, listing.groups, extentEntry(a, e));
    for (const e of change.added) this.put(name, listing.groups, extentEntry(a, e));
  }

  /** Re-lists `a`'s slot entries after a change of its slots. */
  slotsChanged(a: AdapterState): void {
    const listing = this.listed.get(a);
    if (!listing) return;
    for (const [name, entry] of listing.slotEntries) this.take(name, listing.groups, entry);
    listing.slotEntries = this.interned(slotMemberships(a));
    for (const [name, entry] of listing.slotEntries) this.put(name, listing.groups, entry);
  }

  /**
   * Every list's content against what the adapters' present state says it must be: the index's own
   * invariant, checked by the property tests after each step. Returns the differences (empty when none).
   */
  differences(adapters: Iterable<AdapterState>): string[] {
    const expected = new Map<string, string[]>();
    const note = (name: string, a: AdapterState, e: Keyed) => {
      for (const where of [a.server, ALL_SERVERS]) {
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
    const all = [...this.lists].flatMap(([name, byGroup]) =>
      [...byGroup].map(([group, list]) => [`${name}#${group}`, list] as const),
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
    return problems;
  }
}
