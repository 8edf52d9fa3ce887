// The availability index that lives across requests (docs/rvl.md): built once from an inventory,
// then kept current by deltas — the GRM's reservations, commits, rollbacks and releases, resizes,
// health changes and the agents' reports — instead of being rebuilt per request. Planning touches
// the candidates the catalog's ordered lists name, not the pool; its answers are the `preferred`
// strategy's answers on the same state (the property tests check both against buildAvailability).
import { AdapterState, type LiveSlice, type StateChange } from './adapter-state.js';
import { type Availability, validateInventory } from './availability.js';
import { Catalog } from './catalog.js';
import { RvlCode, RvlError } from './errors.js';
import { planRequestFeatures } from './features.js';
import { indexedPiece, type SearchSpace } from './index-search.js';
import type {
  AdapterHealth,
  AdapterInventory,
  ExistingSlice,
  Inventory,
  SlotInventory,
} from './inventory.js';
import { Owners } from './owners.js';
import { placePreferred } from './placement.js';
import {
  type CoreResource,
  failedPlan,
  type Piece,
  type Plan,
  type PlannedSlice,
  type PlanResult,
  type ResourceContext,
  type Unit,
} from './plan.js';
import { type PlacementPolicy, validateRequest } from './request.js';
import {
  planGrowIn,
  planMigrationIn,
  planShrinkIn,
  type ResizeOptions,
  type ResizePlan,
  type ResizeResult,
  type ResizeSpace,
} from './resize.js';
import { type PlacementStrategy, preferred } from './strategies.js';

/** One slice put in place by a reservation, and how to undo it. */
interface Step {
  undo(): void;
  /** Commit-time work (a migration frees its source, a shrink its tail). */
  finish?(): void;
  slice?: LiveSlice;
  /** The held slice becomes committed: the index keeps only its columns. */
  settle?(): void;
}

/** What the caller knows beyond the index (the GRM: which adapters have configuration in flight). */
export interface PlanHints {
  /** Load-aware tie-break: within one tier of the search, an adapter not busy is taken first. */
  busy?: (adapterId: string) => boolean;
}

export type ReservationState = 'held' | 'committed' | 'rolledBack';

/**
 * Capacity a plan holds in the index from reserve() until commit() or rollback(): other plans see it
 * taken at once, so allocations can configure their adapters concurrently.
 */
export class Reservation {
  private stateNow: ReservationState = 'held';
  /** Why the reservation can no longer commit (an agent reported something else in its place). */
  lostBecause: string | undefined;

  constructor(
    readonly allocation: string,
    private readonly steps: Step[],
  ) {}

  get state(): ReservationState {
    return this.stateNow;
  }

  /** The slices this reservation holds (or, once committed, made). */
  get slices(): ExistingSlice[] {
    return this.steps.flatMap((s) => (s.slice ? [stripped(s.slice)] : []));
  }

  private expectHeld(action: string): void {
    if (this.stateNow !== 'held')
      throw new RvlError(
        RvlCode.STALE_PLAN,
        `cannot ${action} reservation of ${this.allocation}: it is already ${this.stateNow}`,
      );
  }

  /** The slices are now configured: they stay taken until released. */
  commit(): void {
    this.expectHeld('commit');
    if (this.lostBecause)
      throw new RvlError(
        RvlCode.STALE_PLAN,
        `reservation of ${this.allocation} was lost (${this.lostBecause}): roll it back and plan again`,
      );
    this.keep();
  }

  /**
   * The slices are configured and the allocation is durable although a report lost part of the
   * reservation: what the index still holds stays taken (a rollback would offer programmed capacity
   * again, and the next plan would collide with it on the adapter); the lost part is the next
   * reconciliation's to re-read.
   */
  commitDespiteLoss(): void {
    this.expectHeld('commit');
    this.keep();
  }

  private keep(): void {
    for (const step of this.steps) {
      step.finish?.();
      step.settle?.();
      if (step.slice) {
        delete step.slice.heldBy;
        delete step.slice.loads;
      }
    }
    this.stateNow = 'committed';
  }

  /** Gives everything back as it was before reserve() (engines it planned to load are unloaded). */
  rollback(): void {
    this.expectHeld('roll back');
    for (const step of [...this.steps].reverse()) step.undo();
    this.stateNow = 'rolledBack';
  }
}

function stripped(s: LiveSlice): ExistingSlice {
  const { heldBy, loads, ...slice } = s;
  return slice;
}

/**
 * `piece` with its resource and entry: the fields copied one by one (an object spread after literal
 * properties takes V8's slow path and allocates more; issue 11: what a plan allocates decides how
 * often a scavenge lands in it).
 */
function plannedSlice(resourceIndex: number, entry: number, piece: Piece): PlannedSlice {
  const p: PlannedSlice = {
    resourceIndex,
    entry,
    kind: piece.kind,
    adapter: piece.adapter,
    base: piece.base,
    length: piece.length,
  };
  if (piece.slot !== undefined) p.slot = piece.slot;
  if (piece.loadBitstream !== undefined) p.loadBitstream = piece.loadBitstream;
  if (piece.units !== undefined) p.units = piece.units;
  if (piece.bytes !== undefined) p.bytes = piece.bytes;
  return p;
}

/** The `used` set of every one-unit request that names no adapters in use: never added to. */
const NO_ADAPTERS_USED: Set<string> = new Set();

const NO_HINTS: PlanHints = Object.freeze({});

const stale = (message: string) => new RvlError(RvlCode.STALE_PLAN, `${message}: plan again`);

export class AvailabilityIndex {
  private readonly states = new Map<string, AdapterState>();
  /** Adapters in id order (the from-scratch Availability's order), for fallbacks and baselines. */
  private ordered: AdapterState[] = [];
  private catalog = new Catalog();
  /** What the indexed search reads: the catalog's lists and adapters by id (made again with the catalog). */
  private search: SearchSpace = this.searchSpace();
  /** Servers with at least one adapter. */
  private servers = new Set<string>();
  /** The hints of the plan() under way (read by unitPlanner: one object for every plan, not one each). */
  private hints: PlanHints = NO_HINTS;
  /** What planRequestFeatures plans with; `adapters` follows rank() (see there). */
  private readonly unitPlanner = {
    adapters: this.ordered as readonly AdapterState[],
    adapter: (id: string) => this.states.get(id),
    plan: (units: readonly Unit[], policy: PlacementPolicy) => this.planUnits(units, policy, this.hints),
  };
  /** Allocation ids as owner numbers, and the adapters holding each allocation's slices (release()). */
  private readonly owners = new Owners();

  private constructor() {}

  /** Validates `inventory` (INVALID_INVENTORY, as buildAvailability) and indexes it. */
  static fromInventory(inventory: Inventory): AvailabilityIndex {
    validateInventory(inventory);
    const index = new AvailabilityIndex();
    const slicesOf = new Map<string, ExistingSlice[]>(inventory.adapters.map((a) => [a.id, []]));
    for (const s of inventory.slices) slicesOf.get(s.adapter)!.push(s);
    for (const a of inventory.adapters)
      index.states.set(a.id, new AdapterState(a, slicesOf.get(a.id)!, index.owners));
    index.rank();
    return index;
  }

  /** Orders adapters by id and lists them all again (after an adapter joins: ranks shift). */
  private rank(): void {
    this.ordered = [...this.states.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    this.unitPlanner.adapters = this.ordered;
    this.servers = new Set(this.ordered.map((a) => a.server));
    this.catalog = new Catalog();
    this.search = this.searchSpace();
    for (const [i, a] of this.ordered.entries()) {
      a.rank = i;
      this.catalog.attach(a);
    }
  }

  private searchSpace(): SearchSpace {
    return { catalog: this.catalog, adapter: (id) => this.states.get(id) };
  }

  get adapterCount(): number {
    return this.states.size;
  }

  /** The adapter's live availability (read-only for callers). */
  adapter(id: string): AdapterState | undefined {
    return this.states.get(id);
  }

  /** A from-scratch shaped view of the live state (no copy): for strategies that walk every adapter. */
  view(): Availability {
    return { adapters: this.ordered };
  }

  /** Mirrors a change of `a` in the ordered lists, and lists or unlists `a` if its eligibility moved. */
  private changed(a: AdapterState, change: StateChange): void {
    if (change.memory) this.catalog.extentsChanged(a, 'memory', change.memory);
    if (change.compute) this.catalog.extentsChanged(a, 'compute', change.compute);
    if (change.slots) this.catalog.slotsChanged(a);
    if (a.eligible !== this.catalog.isListed(a)) {
      if (a.eligible) this.catalog.attach(a);
      else this.catalog.detach(a);
    }
  }

  private addSlice(a: AdapterState, s: LiveSlice): void {
    this.changed(a, a.addSlice(s));
  }

  private removeSlice(a: AdapterState, s: LiveSlice): void {
    this.changed(a, a.removeSlice(s));
  }

  /** Takes one placement in the live state, after checking it still fits; returns how to undo it. */
  private place(
    p: PlannedSlice | Omit<PlannedSlice, 'resourceIndex'>,
    allocation: string,
    heldBy: object,
  ): Step {
    const a = this.states.get(p.adapter);
    if (!a) throw stale(`adapter ${p.adapter} is not in the index`);
    if (a.health === 'unhealthy') throw stale(`adapter ${p.adapter} became unhealthy`);
    if (a.slices.has(p.entry)) throw stale(`entry ${p.adapter}#${p.entry} is taken`);
    if (p.entry >= a.sliceEntries) throw stale(`entry ${p.adapter}#${p.entry} is beyond the slice table`);
    let previous: SlotInventory | undefined;
    const load = p.kind === 'context' ? p.loadBitstream : undefined;
    if (p.kind === 'context') {
      const slot = a.slots[p.slot!];
      if (!slot) throw stale(`slot ${p.adapter}/${p.slot} does not exist`);
      if (load && !(slot.empty || slot.idle))
        throw stale(`slot ${p.adapter}/${p.slot} is no longer empty or idle`);
      if (!load && (slot.empty || slot.function === undefined))
        throw stale(`slot ${p.adapter}/${p.slot} no longer runs a shared engine`);
      if (load) {
        previous = a.slotInventoryOf(p.slot!);
        a.load(p.slot!, load);
        this.changed(a, { slots: true });
      }
    }
    if (!a.isFree(p.kind, p.base, p.length, p.slot)) {
      if (load) {
        a.restoreSlot(p.slot!, previous);
        this.changed(a, { slots: true });
      }
      throw stale(`${p.kind} [${p.base}, +${p.length}) on ${p.adapter} is no longer free`);
    }
    const slice: LiveSlice = {
      adapter: p.adapter,
      entry: p.entry,
      kind: p.kind,
      base: p.base,
      length: p.length,
      allocation,
      heldBy,
    };
    if (p.kind === 'context') slice.slot = p.slot!;
    if (load) slice.loads = load;
    this.addSlice(a, slice);
    return {
      slice,
      settle: () => this.holding(slice)?.slices.settle(slice.entry),
      undo: () => {
        const now = this.holding(slice);
        if (!now) return; // an agent report already replaced it
        this.removeSlice(now, slice);
        if (load) {
          now.restoreSlot(p.slot!, previous);
          this.changed(now, { slots: true });
        }
      },
    };
  }

  /**
   * The adapter state that holds this very slice now (an agent report may have replaced the state, or
   * the slice): the same held object, or for a committed slice the same kind, base, slot and owner.
   */
  private holding(slice: LiveSlice): AdapterState | undefined {
    const a = this.states.get(slice.adapter);
    if (!a) return undefined;
    return (slice.heldBy ? a.slices.holds(slice) : a.slices.isCommitted(slice)) ? a : undefined;
  }

  /** Runs `steps` in order; if one fails, undoes those done and rethrows. */
  private all(actions: (() => Step)[]): Step[] {
    const done: Step[] = [];
    try {
      for (const action of actions) done.push(action());
      return done;
    } catch (e) {
      for (const step of done.reverse()) step.undo();
      throw e;
    }
  }

  /**
   * Plans `request` on the live state without changing it. `preferred` (the default) answers from the
   * ordered lists; any other strategy (the firstFit baseline) runs on view().
   */
  plan(request: unknown, strategy: PlacementStrategy = preferred, hints: PlanHints = NO_HINTS): PlanResult {
    if (strategy !== preferred) return strategy.plan(this.view(), request);
    this.hints = hints;
    return planRequestFeatures(validateRequest(request), this.unitPlanner);
  }

  /** Whether any adapter of the pool is on `server` (policy.sameServer must name one). */
  hasServer(server: string): boolean {
    return this.servers.has(server);
  }

  /** The servers of the pool, sorted. */
  serverNames(): string[] {
    return [...this.servers].sort();
  }

  /**
   * The loop over a request's units. Written to allocate little (issue 11: at 10,000 adapters a
   * scavenge costs milliseconds, and what a plan allocates decides how often one lands in it): one
   * context for the request, plain index loops, no tentative steps unless a later unit needs them.
   */
  private planUnits(units: readonly Unit[], policy: PlacementPolicy, hints: PlanHints): PlanResult {
    // Only a later unit reads which adapters earlier ones took: a one-unit request with no adapters in
    // use shares one empty set, which nothing adds to (the add below is for later units only).
    const later = units.length > 1;
    const context: ResourceContext = {
      policy,
      used: policy.adaptersInUse || later ? new Set(policy.adaptersInUse) : NO_ADAPTERS_USED,
      busy: hints.busy,
      selector: undefined, // assigned per unit, never deleted: the context keeps one shape
    };
    // Made with its first placement: an empty array's first push reserves room for 17.
    let placements: PlannedSlice[] | undefined;
    // Later resources must see earlier ones taken: they are placed for real and undone at the end.
    let tentative: Step[] | undefined;
    let token: object | undefined;
    try {
      for (let u = 0; u < units.length; u++) {
        const unit = units[u]!;
        context.selector = unit.selector;
        const indexed = indexedPiece(this.search, unit.resource, context);
        // The indexed answer names its adapter state; a combination comes from the full walk.
        const result = indexed ? undefined : this.placeByWalk(unit.resource, context);
        if (result && !result.ok) return failedPlan(unit.origin, unit.resource, result);
        const pieces = result ? result.pieces : undefined;
        const count = pieces ? pieces.length : 1;
        for (let i = 0; i < count; i++) {
          const piece = pieces ? pieces[i]! : indexed!.piece;
          const a = pieces ? this.states.get(piece.adapter)! : indexed!.adapter;
          const placement = plannedSlice(unit.origin, a.lowestFreeEntry, piece);
          if (placements) placements.push(placement);
          else placements = [placement];
          if (u < units.length - 1) context.used.add(placement.adapter);
          const last = u === units.length - 1 && i === count - 1;
          if (!last) {
            tentative ??= [];
            token ??= {};
            tentative.push(this.place(placement, '', token));
          }
        }
      }
      return { ok: true, plan: { placements: placements ?? [] } };
    } finally {
      if (tentative) for (let i = tentative.length - 1; i >= 0; i--) tentative[i]!.undo();
    }
  }

  /** No single extent or slot: a combination, or a failure with its reasons, from the full walk. */
  private placeByWalk(resource: CoreResource, context: ResourceContext) {
    return placePreferred(this.view(), resource, context);
  }

  /** Holds `plan`'s slices for `allocation` until commit or rollback; STALE_PLAN if it no longer fits. */
  reserve(plan: Plan, allocation: string): Reservation {
    const token = {};
    const steps = this.all(plan.placements.map((p) => () => this.place(p, allocation, token)));
    return this.held(allocation, steps);
  }

  private held(allocation: string, steps: Step[]): Reservation {
    const reservation = new Reservation(allocation, steps);
    for (const step of steps) if (step.slice) step.slice.heldBy = reservation;
    return reservation;
  }

  private liveSlice(ref: { adapter: string; entry: number }): { a: AdapterState; s: LiveSlice } {
    const a = this.states.get(ref.adapter);
    const s = a?.slices.get(ref.entry);
    if (!a || !s) throw stale(`slice ${ref.adapter}#${ref.entry} is not in the index`);
    return { a, s };
  }

  /**
   * Holds a resize: an in-place grow takes the extent after the slice now; a migration reserves its
   * target now and frees its source at commit (after the copy); a shrink frees the tail at commit.
   */
  reserveResize(plan: ResizePlan): Reservation {
    const token = {};
    if (plan.kind === 'migrate') {
      const { s } = this.liveSlice(plan.from);
      if (s.heldBy) throw stale(`slice ${s.adapter}#${s.entry} is itself still held by a reservation`);
      const step = this.place(plan.to, s.allocation, token);
      step.finish = () => {
        const now = this.holding(s);
        if (now) this.removeSlice(now, s);
      };
      return this.held(s.allocation, [step]);
    }
    const { a, s } = this.liveSlice(plan.slice);
    const from = s.length;
    const resize = (length: number) => {
      const now = this.holding(s);
      if (now && s.length !== length)
        this.changed(now, length < s.length ? now.shrink(s, length) : now.grow(s, length));
    };
    if (plan.kind === 'shrink') {
      if (plan.toLength > from)
        throw stale(`slice ${s.adapter}#${s.entry} is shorter than the shrink planned`);
      return this.held(s.allocation, [{ undo: () => {}, finish: () => resize(plan.toLength) }]);
    }
    if (plan.toLength <= from || !a.isFree(s.kind, s.base + from, plan.toLength - from))
      throw stale(`the extent after ${s.adapter}#${s.entry} is no longer free`);
    this.changed(a, a.grow(s, plan.toLength));
    return this.held(s.allocation, [{ undo: () => resize(from) }]);
  }

  /** Frees every committed slice of `allocation`; returns how many. Held reservations are not touched. */
  release(allocation: string): number {
    const owner = this.owners.idOf(allocation);
    if (owner === undefined) return 0;
    const slices: LiveSlice[] = [];
    for (const id of this.owners.adaptersOf(allocation)) {
      const a = this.states.get(id);
      if (!a) continue;
      for (const entry of a.slices.entries())
        if (a.slices.committedOf(entry, owner)) slices.push(a.slices.get(entry)!);
    }
    for (const s of slices) this.releaseSlice(s);
    return slices.length;
  }

  /** Frees one slice (committed or found by an agent). */
  releaseSlice(ref: { adapter: string; entry: number }): void {
    const { a, s } = this.liveSlice(ref);
    if (s.heldBy)
      throw new RvlError(
        RvlCode.STALE_PLAN,
        `slice ${s.adapter}#${s.entry} is held by a reservation: commit or roll it back first`,
      );
    this.removeSlice(a, s);
  }

  /** A taint change: unhealthy adapters take no new slice, degraded ones only when a policy allows. */
  setHealth(id: string, health: AdapterHealth): void {
    const a = this.states.get(id);
    if (!a) throw new RvlError(RvlCode.UNKNOWN_ADAPTER, `adapter ${id} is not in the index`);
    if (!['healthy', 'degraded', 'unhealthy'].includes(health))
      throw new RvlError(
        RvlCode.INVALID_INVENTORY,
        `unknown health ${String(health)}: healthy, degraded or unhealthy`,
      );
    this.catalog.detach(a);
    a.health = health;
    this.catalog.attach(a);
  }

  /**
   * An agent's report of one adapter (its registers are the truth for devices): the adapter is
   * re-indexed from it. Slices held by a reservation that the report does not show stay held; if the
   * report shows something else in their place, the reservation is lost (its commit fails) and the
   * report wins. Returns the slices the index did not know (made by someone other than the GRM) and
   * those it knew that are gone. An unknown adapter joins the index.
   */
  applyAdapterReport(
    adapter: AdapterInventory,
    slices: readonly ExistingSlice[],
    sameHolder: (indexed: string, reported: string) => boolean = (a, b) => a === b,
  ): { foreign: ExistingSlice[]; vanished: ExistingSlice[]; lost: Reservation[] } {
    validateInventory({ adapters: [adapter], slices: [...slices] });
    if (slices.some((s) => s.adapter !== adapter.id))
      throw new RvlError(
        RvlCode.INVALID_INVENTORY,
        `a report of ${adapter.id} lists slices of other adapters`,
      );
    const old = this.states.get(adapter.id);
    /**
     * The index's slice at the entry a reported slice names, if the report shows that same slice: same
     * place and the same holder. An entry freed and programmed again in the same place for another
     * holder (another GRM replica reuses entries the same way) is a new slice: keeping the old one's
     * holder judged the new holder's slice missing and its allocation lost.
     */
    const known = (s: ExistingSlice) => {
      const k = old?.slices.get(s.entry);
      return k &&
        k.kind === s.kind &&
        k.base === s.base &&
        k.length === s.length &&
        k.slot === s.slot &&
        sameHolder(k.allocation, s.allocation)
        ? k
        : undefined;
    };
    const foreign: ExistingSlice[] = [];
    const reportedEntries = new Set<number>();
    // The new state: the report's slices (keeping the index's owners, and held objects, where they
    // match), then the held slices that still fit.
    const nextSlices = slices.map((s) => {
      const k = known(s);
      if (k) reportedEntries.add(s.entry);
      else foreign.push(s);
      return k ?? s;
    });
    const vanished: ExistingSlice[] = [];
    const keepHeld: LiveSlice[] = [];
    const lost = new Set<Reservation>();
    for (const s of old?.slices.values() ?? []) {
      if (reportedEntries.has(s.entry)) continue;
      if (s.heldBy) keepHeld.push(s);
      else vanished.push(stripped(s));
    }
    const next = new AdapterState(adapter, nextSlices, this.owners);
    // Held slices that planned a load first: a slice sharing that engine fits only once the slot is
    // loaded again, whatever the entry order (a report read before the load shows the slot empty).
    keepHeld.sort((x, y) => (y.loads ? 1 : 0) - (x.loads ? 1 : 0));
    for (const s of keepHeld) {
      const slot = s.kind === 'context' ? next.slots[s.slot!] : undefined;
      // A load the reservation planned and the agent has not done yet is planned again.
      if (slot && s.loads && (slot.empty || slot.idle)) next.load(slot.index, s.loads);
      const fits =
        !next.slices.has(s.entry) &&
        s.entry < next.sliceEntries &&
        (!slot || !next.slots[slot.index]!.empty) &&
        next.isFree(s.kind, s.base, s.length, s.slot);
      if (fits) {
        next.addSlice(s);
      } else {
        const r = s.heldBy as Reservation;
        r.lostBecause = `agent reported ${adapter.id} without room for ${s.kind} slice #${s.entry}`;
        lost.add(r);
      }
    }
    if (old) {
      this.catalog.detach(old);
      old.slices.dispose();
    }
    this.states.set(adapter.id, next);
    if (old) {
      next.rank = old.rank;
      this.ordered[old.rank] = next;
      this.catalog.attach(next);
    } else this.rank();
    return { foreign: foreign.map((s) => ({ ...s })), vanished, lost: [...lost] };
  }

  /** Resizing against the live state (resize.ts), planned like a one-slice request. */
  private resizeSpace(): ResizeSpace {
    return {
      adapter: (id) => this.states.get(id),
      plan: (request, targets, strategy) => {
        if (!targets) return this.plan(request, strategy);
        const chosen = this.ordered.filter((a) => targets.includes(a.id));
        return strategy.plan({ adapters: chosen }, request);
      },
    };
  }

  planGrow(slice: ExistingSlice, newLength: number, options: ResizeOptions = {}): ResizeResult {
    return planGrowIn(this.resizeSpace(), slice, newLength, options);
  }

  planShrink(slice: ExistingSlice, newLength: number): ResizePlan {
    return planShrinkIn(this.resizeSpace(), slice, newLength);
  }

  planMigration(slice: ExistingSlice, targets: readonly string[], options: ResizeOptions = {}): ResizeResult {
    return planMigrationIn(this.resizeSpace(), slice, targets, options);
  }

  /** The live state as an inventory (held slices included: they are taken). */
  toInventory(): Inventory {
    return {
      adapters: this.ordered.map((a) => a.toInventory()),
      slices: this.ordered.flatMap((a) => [...a.slices.values()].map(stripped)),
    };
  }

  /** The ordered lists against the adapters' state: empty when consistent (tests check it each step). */
  differences(): string[] {
    const out = this.catalog.differences(this.ordered);
    for (const a of this.ordered)
      if (a.lowestFreeEntry !== a.slices.lowestFree())
        out.push(`${a.id}: lowestFreeEntry ${a.lowestFreeEntry}, slice table says ${a.slices.lowestFree()}`);
    for (const a of this.ordered)
      if (a.firstEmptySlot !== a.slots.findIndex((s) => s.empty))
        out.push(
          `${a.id}: firstEmptySlot ${a.firstEmptySlot}, slots say ${a.slots.findIndex((s) => s.empty)}`,
        );
    return out;
  }
}
