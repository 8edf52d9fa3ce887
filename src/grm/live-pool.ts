// The GRM's live view of the pool: one availability index (src/rvl/live-index.ts, docs/rvl.md) built
// once from the agents' inventories and then kept current by deltas — the GRM's own reservations,
// commits, releases and resizes, and the agents' reports. No request reads the registers.
//
// Reports and the GRM's own changes race: an inventory read while a release is between its register
// write and its index update would show the slice gone, and the index would call it vanished. So the
// pool counts, per adapter, the operations that change registers and index in two steps (open
// operations) and bumps an epoch whenever one starts or ends or the index changes in a way a report
// could contradict. A report re-indexes an adapter only when no operation was open on it while the
// report was read and applied ("quiet"); other adapters wait for the next pass. Held reservations need
// no such care: the index keeps a held slice whether the report shows it programmed yet or not.
import type { Logger } from 'pino';
import type { AgentAdapter } from '../agent/agent.js';
import type { AgentClient } from '../agent/protocol.js';
import type { Catalog } from '../bitstream/catalog.js';
import type { AdapterState } from '../rvl/adapter-state.js';
import {
  AvailabilityIndex,
  type ExistingSlice,
  type Plan,
  type Reservation,
  type ResizePlan,
  type SliceSample,
} from '../rvl/index.js';
import { labelsByFunction } from './engines.js';
import { type KeyIndex, orphanLabel, sameHolder, samplesOf, slicesOf, toIndexAdapter } from './pool.js';

/** The agents' inventories as read in one pass, with the activity of every adapter before the read. */
export interface Reading {
  adapters: AgentAdapter[];
  /** Servers whose agent did not answer. */
  failed: string[];
  epochsBefore: ReadonlyMap<string, number>;
  openBefore: ReadonlySet<string>;
}

/** What applying a reading changed. */
export interface Applied {
  /** Adapters re-indexed from their registers (their slice tables are now the index's). */
  checked: AgentAdapter[];
  /**
   * Utilization counters of every slice read, for the caller (the reallocator keeps the windows it
   * needs). The index keeps none: planning reads no counter, and a copy of every slice's latest
   * sample measured 390 MB at 10,000 adapters of 192 slices (issue 11: memory).
   */
  samples: SliceSample[];
  /** Servers whose agent answers again after failing. */
  reconnected: string[];
}

export class LivePool {
  private index: AvailabilityIndex | undefined;
  private building: Promise<AvailabilityIndex> | undefined;
  /** owner key -> label of its slices in the index (allocation id, in flight or committed). */
  private readonly owners = new Map<string, string>();
  private readonly epochs = new Map<string, number>();
  private readonly open = new Map<string, number>();
  private labels: Map<string, string[]>;
  private labelsKey: string;
  /** functionsSupported as the adapters report them (the index holds them as image labels). */
  private readonly functions = new Map<string, string[]>();
  private largestCache: { adapters: number; memoryBytes: number; computeUnits: number } | undefined;
  private readonly unreachable = new Set<string>();
  /** Held reservations per adapter, and the adapters each reservation holds slices on. */
  private readonly heldOn = new Map<string, number>();
  private readonly heldAdapters = new WeakMap<Reservation, string[]>();

  constructor(
    private readonly agents: readonly AgentClient[],
    private readonly catalog: Catalog,
    private readonly log: Logger,
  ) {
    this.labels = labelsByFunction(catalog);
    this.labelsKey = JSON.stringify([...this.labels]);
  }

  /** The index, built from the agents' inventories on first use. */
  ready(): Promise<AvailabilityIndex> {
    if (this.index) return Promise.resolve(this.index);
    this.building ??= this.build().finally(() => {
      this.building = undefined;
    });
    return this.building;
  }

  private async build(): Promise<AvailabilityIndex> {
    const reading = await this.read();
    if (this.index) return this.index;
    for (const a of reading.adapters) this.functions.set(a.id, a.functionsSupported);
    const index = AvailabilityIndex.fromInventory({
      adapters: reading.adapters.map((a) => toIndexAdapter(a, this.labels)),
      slices: reading.adapters.flatMap((a) => slicesOf(a, this.labelOf)),
    });
    this.index = index;
    for (const server of reading.failed) this.taintServer(server);
    this.log.info({ adapters: index.adapterCount }, 'availability index built from the agents');
    return index;
  }

  readonly labelOf = (ownerKey: string): string => this.owners.get(ownerKey) ?? orphanLabel(ownerKey);

  /** Slices programmed with `ownerKey` belong to `label` (before anything is programmed with it). */
  own(ownerKey: string, label: string): void {
    this.owners.set(ownerKey, label);
  }

  disown(ownerKey: string): void {
    this.owners.delete(ownerKey);
  }

  /** owner key -> label, for attributing slices read from the registers. */
  get keys(): KeyIndex {
    return this.owners;
  }

  private touch(adapter: string): void {
    this.epochs.set(adapter, (this.epochs.get(adapter) ?? 0) + 1);
  }

  /**
   * Opens an operation that changes registers and index in two steps on these adapters; the
   * returned function closes it. Reports skip the adapters meanwhile.
   */
  begin(adapters: Iterable<string>): () => void {
    const ids = [...new Set(adapters)];
    for (const id of ids) {
      this.touch(id);
      this.open.set(id, (this.open.get(id) ?? 0) + 1);
    }
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      for (const id of ids) {
        this.touch(id);
        const n = (this.open.get(id) ?? 1) - 1;
        if (n > 0) this.open.set(id, n);
        else this.open.delete(id);
      }
    };
  }

  private get live(): AvailabilityIndex {
    if (!this.index) throw new Error('internal: the availability index is used before it was built');
    return this.index;
  }

  /** Holds `plan` for `label` (synchronously: no other plan can take the same capacity). */
  reserve(plan: Plan, label: string): Reservation {
    return this.counted(this.live.reserve(plan, label), plan.placements);
  }

  reserveResize(plan: ResizePlan): Reservation {
    const r = this.live.reserveResize(plan);
    this.touch(plan.kind === 'migrate' ? plan.from.adapter : plan.slice.adapter);
    return this.counted(r, plan.kind === 'migrate' ? [plan.from, plan.to] : [plan.slice]);
  }

  /**
   * Adapters with configuration in flight: a held reservation (its commands are queued or running)
   * or an open operation (a release). The planner's load-aware tie-break keeps new allocations off
   * them while an equally placed idle adapter exists.
   */
  readonly busy = (adapter: string): boolean => this.heldOn.has(adapter) || this.open.has(adapter);

  private counted(r: Reservation, on: readonly { adapter: string }[]): Reservation {
    const adapters = [...new Set(on.map((p) => p.adapter))];
    for (const id of adapters) this.heldOn.set(id, (this.heldOn.get(id) ?? 0) + 1);
    this.heldAdapters.set(r, adapters);
    return r;
  }

  private settled(r: Reservation): void {
    const adapters = this.heldAdapters.get(r);
    if (!adapters) return;
    this.heldAdapters.delete(r);
    for (const id of adapters) {
      const n = (this.heldOn.get(id) ?? 1) - 1;
      if (n > 0) this.heldOn.set(id, n);
      else this.heldOn.delete(id);
    }
  }

  commit(r: Reservation): void {
    r.commit();
    this.settled(r);
    for (const s of r.slices) this.touch(s.adapter);
  }

  /** Commits what a lost reservation still holds (its allocation is already durable). */
  commitDespiteLoss(r: Reservation): void {
    r.commitDespiteLoss();
    this.settled(r);
    for (const s of r.slices) this.touch(s.adapter);
  }

  rollback(r: Reservation): void {
    if (r.state !== 'held') return;
    r.rollback();
    this.settled(r);
    for (const s of r.slices) this.touch(s.adapter);
  }

  /** Frees every committed slice labelled `label` (its registers were released). */
  release(label: string, adapters: Iterable<string>): void {
    this.live.release(label);
    for (const id of adapters) this.touch(id);
  }

  /** Frees one slice if the index still holds it as `label`'s, committed. */
  releaseSlice(ref: { adapter: string; entry: number }, label: string): void {
    const s = this.live.adapter(ref.adapter)?.slices.get(ref.entry);
    if (!s || s.heldBy || s.allocation !== label) return;
    this.live.releaseSlice(ref);
    this.touch(ref.adapter);
  }

  /** The slice at adapter#entry as the index holds it, if it is `label`'s. */
  slice(adapter: string, entry: number, label: string): ExistingSlice | undefined {
    const s = this.index?.adapter(adapter)?.slices.get(entry);
    if (!s || s.allocation !== label) return undefined;
    const { heldBy: _h, loads: _l, ...slice } = s;
    return slice;
  }

  /** The adapter's state in the index (read-only). */
  adapter(id: string): AdapterState | undefined {
    return this.index?.adapter(id);
  }

  /** The largest memory / compute any adapter has (one slice can never be larger). */
  largest(kind: 'memory' | 'compute'): number {
    const index = this.live;
    if (this.largestCache?.adapters !== index.adapterCount) {
      let memoryBytes = 0;
      let computeUnits = 0;
      for (const a of index.view().adapters) {
        memoryBytes = Math.max(memoryBytes, a.memoryBytes);
        computeUnits = Math.max(computeUnits, a.computeUnits);
      }
      this.largestCache = { adapters: index.adapterCount, memoryBytes, computeUnits };
    }
    return kind === 'memory' ? this.largestCache.memoryBytes : this.largestCache.computeUnits;
  }

  /** Ids of the indexed adapters of these servers. */
  adaptersOf(servers: ReadonlySet<string>): string[] {
    return (this.index?.view().adapters ?? []).filter((a) => servers.has(a.server)).map((a) => a.id);
  }

  health(): { adapters: number; unhealthy: number } {
    const adapters = this.index?.view().adapters ?? [];
    return { adapters: adapters.length, unhealthy: adapters.filter((a) => a.health === 'unhealthy').length };
  }

  /** Reads every agent's inventory (registers); an agent that fails is listed, not thrown. */
  async read(): Promise<Reading> {
    const epochsBefore = new Map(this.epochs);
    const openBefore = new Set(this.open.keys());
    const parts = await Promise.all(
      this.agents.map((agent) =>
        agent.call<{ adapters: AgentAdapter[] }>('inventory').then(
          (p) => ({ server: agent.server, adapters: p.adapters }),
          (err: Error) => {
            this.log.warn({ server: agent.server, err: err.message }, 'agent inventory failed');
            return { server: agent.server, adapters: undefined };
          },
        ),
      ),
    );
    return {
      adapters: parts.flatMap((p) => p.adapters ?? []),
      failed: parts.filter((p) => !p.adapters).map((p) => p.server),
      epochsBefore,
      openBefore,
    };
  }

  private quiet(id: string, r: Reading): boolean {
    return (
      !r.openBefore.has(id) &&
      !this.open.has(id) &&
      (this.epochs.get(id) ?? 0) === (r.epochsBefore.get(id) ?? 0)
    );
  }

  /**
   * Applies a reading: health and utilization always; the slice tables of quiet adapters when
   * `reports` (and of any adapter that joins or comes back from unhealthy, whose state is unknown).
   * Synchronous, so the caller can inspect the re-indexed adapters before anything else changes.
   */
  apply(reading: Reading, reports: boolean): Applied {
    const index = this.live;
    const checked: AgentAdapter[] = [];
    const samples: SliceSample[] = [];
    for (const a of reading.adapters) {
      this.functions.set(a.id, a.functionsSupported);
      const state = index.adapter(a.id);
      try {
        if (a.health === 'unhealthy') {
          // Its registers cannot be read: its slices are not judged, only tainted.
          if (!state) index.applyAdapterReport(toIndexAdapter(a, this.labels), []);
          else if (state.health !== 'unhealthy') index.setHealth(a.id, 'unhealthy');
          this.touch(a.id);
          continue;
        }
        if (!state || reports || state.health === 'unhealthy') {
          if (!this.quiet(a.id, reading)) continue;
          const { lost } = index.applyAdapterReport(
            toIndexAdapter(a, this.labels),
            slicesOf(a, this.labelOf),
            sameHolder,
          );
          for (const r of lost)
            this.log.warn({ allocation: r.allocation, adapter: a.id }, `reservation lost: ${r.lostBecause}`);
          this.touch(a.id);
          checked.push(a);
        } else if (state.health !== a.health) index.setHealth(a.id, a.health);
      } catch (err) {
        this.log.error({ adapter: a.id, err: (err as Error).message }, 'agent report not applied');
        continue;
      }
      samples.push(...samplesOf(a, this.labelOf));
    }
    for (const server of reading.failed) this.taintServer(server);
    const reconnected = [...this.unreachable].filter((s) => !reading.failed.includes(s));
    for (const s of reconnected) this.unreachable.delete(s);
    for (const s of reading.failed) this.unreachable.add(s);
    return { checked, samples, reconnected };
  }

  /** An agent that does not answer: its adapters take no new slice until it answers again. */
  private taintServer(server: string): void {
    this.unreachable.add(server);
    for (const a of this.index?.view().adapters ?? []) {
      if (a.server !== server || a.health === 'unhealthy') continue;
      this.index!.setHealth(a.id, 'unhealthy');
      this.touch(a.id);
    }
  }

  /**
   * The catalog changed (a bitstream registered): adapters support the new images too. Rare, so
   * every adapter is re-indexed from its own present state.
   */
  catalogChanged(): void {
    const labels = labelsByFunction(this.catalog);
    const key = JSON.stringify([...labels]);
    if (key === this.labelsKey) return;
    this.labels = labels;
    this.labelsKey = key;
    const index = this.index;
    if (!index) return;
    for (const a of [...index.view().adapters] as AdapterState[]) {
      const functions = this.functions.get(a.id) ?? [];
      index.applyAdapterReport(
        { ...a.toInventory(), functionsSupported: functions.flatMap((fn) => labels.get(fn) ?? []) },
        [...a.slices.values()],
      );
      this.touch(a.id);
    }
  }
}
