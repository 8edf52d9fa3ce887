// The Global Resource Manager, as the API and the CLI see it: a facade over the job modules —
// allocate.ts (plan, reserve, configure, commit), release.ts, resize.ts (resize and migration),
// jobs.ts, bitstreams.ts — which share one live pool (live-pool.ts: the availability index kept current
// by deltas), per-adapter command queues and per-allocation locks. No lock is held across I/O by an
// allocation; reconciliation and reallocation run beside it through the narrow Maintenance interface.
import type { Logger } from 'pino';
import { RaError } from '../common/errors.js';
import type { Intent, StoredAllocation, StoreHealth } from '../store/store.js';
import { AdapterCommands } from './adapter-commands.js';
import { allocate, type MakeRoom } from './allocate.js';
import { listBitstreams, publishBitstream, registerBitstream } from './bitstreams.js';
import { type GrmContext, type GrmOptions, owned, publicView, usable } from './context.js';
import { DEFAULT_DEFRAG_BUDGET_BYTES, type DefragReport, defragmentFor } from './defrag.js';
import { allocateAfterPreemption } from './elastic/admission.js';
import type { AllocationEvent } from './elastic/events.js';
import { forTenant } from './engines.js';
import { type GrmEventFeed, type GrmEventKind, GrmEventLog } from './events.js';
import { allocateGang, gangMembers } from './gang.js';
import { grantsOf, withGrants } from './grants.js';
import { runJob } from './jobs.js';
import { KeyedLock } from './keyed-lock.js';
import { LivePool } from './live-pool.js';
import { type Maintenance, maintenanceOf } from './maintenance.js';
import { GrmMetrics, type MetricsSource } from './metrics.js';
import { deviceGauges, devicesOf } from './metrics-devices.js';
import { Mutex } from './mutex.js';
import { type DashboardSource, type PoolPicture, toPicture } from './picture.js';
import { toAdapterViews } from './pool.js';
import { CommittedAllocations, QuotaBook, type QuotaTable, type TenantUsage } from './quotas.js';
import { releaseAllocation } from './release.js';
import { applyReplicaChange, type ReplicaChange } from './replica-sync.js';
import { migrate, resize } from './resize.js';
import { type AdapterView, type Allocation, type Gang, type GrmApi, GrmCode } from './types.js';
import { validateAllocation } from './validate.js';

export type { GrmOptions } from './context.js';

/** Attempts of one allocation by a replica whose plan another replica's slices refused (OVERLAP). */
const REPLICA_ALLOCATE_ATTEMPTS = 3;

export class Grm implements GrmApi, DashboardSource, MetricsSource {
  private readonly ctx: GrmContext;
  /** Reconciliation and reallocation passes, one at a time (beside allocations, not instead of them). */
  private readonly passes = new Mutex();
  readonly log: Logger;
  /** What reconcile.ts and reallocator.ts may do. */
  readonly maintenance: Maintenance;
  /** Intents of allocations this process does not configure (found at start, or other replicas'). */
  private readonly intents: Map<string, Intent>;

  /** The last defragmentation an admission ran (defrag.ts), for the demo and the bench. */
  private lastDefrag: DefragReport | undefined;

  constructor(o: GrmOptions) {
    const budget = o.defragBudgetBytes;
    if (budget !== undefined && (!Number.isSafeInteger(budget) || budget < 0))
      throw new RangeError(`defragBudgetBytes must be a whole number of bytes >= 0, got ${budget}`);
    this.log = o.log;
    const pool = new LivePool(o.agents, o.catalog, o.log);
    // Keeps each tenant's committed usage as allocations are set and deleted (quota checks read it).
    const allocations = new CommittedAllocations<StoredAllocation>();
    const quotas = new QuotaBook(allocations);
    if (o.quotas !== undefined) quotas.configure(o.quotas);
    this.ctx = {
      options: o,
      log: o.log,
      store: o.store,
      catalog: o.catalog,
      allocations,
      configuring: new Set(),
      pool,
      commands: new AdapterCommands(o.agents),
      locks: new KeyedLock(),
      moving: new Set(),
      scratch: new Set(),
      jobsRunning: new Map(),
      jobsEndedMs: new Map(),
      events: new GrmEventLog(),
      metrics: new GrmMetrics(),
      quotas,
    };
    deviceGauges(this.ctx.metrics.registry, devicesOf(this.ctx));
    const loaded = o.store.load();
    const intents = loaded.intents;
    for (const [id, a] of loaded.allocations) {
      this.ctx.allocations.set(id, a);
      pool.own(a.ownerKey, id);
    }
    this.intents = new Map<string, Intent>(intents);
    this.maintenance = maintenanceOf(this.ctx, this.intents);
  }

  /** The committed allocations (read-only). */
  get allocations(): ReadonlyMap<string, StoredAllocation> {
    return this.ctx.allocations;
  }

  /** Recent allocation events (allocated, released, resized, migrated, reclaimed, ...), read-only. */
  get events(): GrmEventFeed {
    return this.ctx.events;
  }

  /** What this GRM did and what its adapters' registers show, for /metrics (docs/metrics.md). */
  get metrics(): GrmMetrics {
    return this.ctx.metrics;
  }

  /** The pool for the dashboard: slots, slices with owners and busy counters (read from the agents). */
  async picture(): Promise<PoolPicture> {
    const reading = await this.ctx.pool.read();
    return toPicture(reading.adapters, this.ctx.allocations.values());
  }

  isOperator(tenant: string): boolean {
    return this.ctx.options.operators?.has(tenant) ?? false;
  }

  private record(kind: GrmEventKind, a: Allocation, detail: string): void {
    const adapters = [...new Set(a.resources.flatMap((r) => r.placements.map((p) => p.adapter)))];
    this.ctx.events.record({ kind, allocation: a.id, tenant: a.tenant, adapters, detail });
  }

  /** Runs fn with no other reconciliation or reallocation pass in flight (allocations go on). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.passes.run(fn);
  }

  /** The adapters as their registers show them now (a device view: read from the agents). */
  async listAdapters(): Promise<AdapterView[]> {
    const reading = await this.ctx.pool.read();
    const keys = new Map([...this.ctx.allocations.values()].map((a) => [a.ownerKey, a.id]));
    return toAdapterViews(reading.adapters, keys);
  }

  health(): { ok: boolean; adapters: number; unhealthy: number; store: StoreHealth } {
    const { adapters, unhealthy } = this.ctx.pool.health();
    const store = this.ctx.store.health(); // a store that cannot write makes every change fail
    return { ok: adapters > unhealthy && store.writable, adapters, unhealthy, store };
  }

  get(tenant: string, id: string): Allocation {
    return publicView(owned(this.ctx, tenant, id));
  }

  list(tenant: string): Allocation[] {
    return [...this.ctx.allocations.values()].filter((a) => a.tenant === tenant).map(publicView);
  }

  /** Every tenant's allocations (operators, issue 16). */
  listAll(): Allocation[] {
    return [...this.ctx.allocations.values()].map(publicView);
  }

  /** The tenant holding allocation `id`: one lookup, not a listing (operators' reads and releases). */
  ownerOf(id: string): string | undefined {
    return this.ctx.allocations.get(id)?.tenant;
  }

  // ---- quotas (quotas.ts, issue 16) ----

  /** What the tenant holds (committed and configuring) and its quota. */
  usage(tenant: string): TenantUsage {
    return this.ctx.quotas.report(tenant);
  }

  /** Every tenant holding something or named in the quota table, and the ones in `also`. */
  usageAll(also: Iterable<string> = []): TenantUsage[] {
    return this.ctx.quotas.reportAll(also);
  }

  /** Where setQuota keeps the table (a file: quota-file.ts); without it setQuota refuses. */
  private saveQuotas: ((table: QuotaTable) => void) | undefined;

  /** Replaces the quota table (validated: a bad one changes nothing) and says where changes are kept. */
  useQuotas(table: unknown, save?: (table: QuotaTable) => void): void {
    this.ctx.quotas.configure(table);
    this.saveQuotas = save;
  }

  /** Sets one tenant's quota: kept durably first, applied after (a failed save changes nothing). */
  setQuota(tenant: string, quota: unknown): TenantUsage {
    const table = this.ctx.quotas.withTenant(tenant, quota);
    if (!this.saveQuotas)
      throw new RaError(
        GrmCode.CONFLICT,
        'this GRM has nowhere to keep quota changes: start serve with --quotas FILE (or --state DIR), or edit the --quotas file of every replica and restart them',
      );
    this.saveQuotas(table);
    this.ctx.quotas.configure(table);
    this.log.info({ tenant, quota }, 'quota set');
    return this.ctx.quotas.report(tenant);
  }

  /**
   * The allocation with an access grant on each placement (ra-spec §18, docs/access.md): tenant
   * windows are opened on first request and closed before any release, resize or migration.
   */
  async grants(tenant: string, id: string): Promise<Allocation> {
    usable(this.ctx, tenant, id);
    return this.ctx.locks.run(id, async () => {
      const a = usable(this.ctx, tenant, id); // under the lock: a release queued before us has run
      return withGrants(publicView(a), await grantsOf(this.ctx, a));
    });
  }

  allocate(tenant: string, body: unknown): Promise<Allocation> {
    return this.ctx.metrics.timeAllocation(() => this.allocateWithRetries(tenant, body));
  }

  private async allocateWithRetries(tenant: string, body: unknown): Promise<Allocation> {
    for (let attempt = 1; ; attempt++) {
      try {
        const allocated = publicView(await this.allocateOrPreempt(tenant, body));
        this.record('allocated', allocated, `${allocated.resources.length} resource(s)`);
        return allocated;
      } catch (err) {
        // A replica's plan can lose to slices another replica programmed since this index last read them
        // (the adapter refused: rolled back, nothing kept). Read the slice tables again and plan again.
        const conflict = err instanceof RaError && err.code === GrmCode.CONFLICT;
        if (!this.ctx.options.replica || !conflict || attempt >= REPLICA_ALLOCATE_ATTEMPTS) throw err;
        await this.maintenance.reindex();
      }
    }
  }

  /** Defragmentation by live migration for a memory request that found no extent large enough. */
  private readonly makeRoom: MakeRoom = async (request, failure) => {
    const report = await defragmentFor(this.ctx, request, failure, {
      budgetBytes: this.ctx.options.defragBudgetBytes ?? DEFAULT_DEFRAG_BUDGET_BYTES,
      record: (a, event) => this.maintenance.events.record(a.id, a.tenant, event),
    });
    if (report) this.lastDefrag = report;
    return report;
  };

  /** What the last defragmentation moved and how long it took (undefined: none yet). */
  lastDefragmentation(): DefragReport | undefined {
    return this.lastDefrag && { ...this.lastDefrag, moved: [...this.lastDefrag.moved] };
  }

  /**
   * A request that does not fit and carries a priority may shrink or reclaim preemptible allocations
   * of lower priority, when a what-if plan shows that makes it fit (elastic/admission.ts, issue 15).
   */
  private async allocateOrPreempt(tenant: string, body: unknown): Promise<StoredAllocation> {
    try {
      return await allocate(this.ctx, tenant, body, this.makeRoom);
    } catch (err) {
      const priority = validateAllocation(body, this.ctx.options.requestClasses).policy.priority ?? 0;
      if (!(err instanceof RaError) || err.code !== GrmCode.RESOURCE_UNAVAILABLE || priority === 0) throw err;
      // One preemption at a time, and no reallocation pass growing the victims back meanwhile.
      return this.exclusive(async () => {
        const { placement } = validateAllocation(body, this.ctx.options.requestClasses);
        const request = forTenant(this.ctx.catalog, tenant, placement).request;
        const index = await this.ctx.pool.ready();
        return allocateAfterPreemption(this.maintenance, index, request, priority, err, () =>
          allocate(this.ctx, tenant, body, this.makeRoom),
        );
      });
    }
  }

  /** Another replica's change to the store (replica-sync.ts). */
  applyReplicaChange(change: ReplicaChange): void {
    applyReplicaChange(this.ctx, this.intents, change);
  }

  /** `operator`: the operator releasing another tenant's allocation (issue 16), named in the event. */
  async release(tenant: string, id: string, operator?: string): Promise<void> {
    owned(this.ctx, tenant, id); // an unknown id fails at once, not behind the allocation's lock
    const why = operator === undefined ? 'released by its tenant' : `released by operator ${operator}`;
    // Looked up again under the lock: a resize or migration queued before us may have changed it.
    await this.ctx.locks.run(id, async () => {
      const a = owned(this.ctx, tenant, id);
      await releaseAllocation(this.ctx, a, why);
      this.record('released', a, why);
    });
  }

  /** Several allocations granted all or nothing, committed in one durable write (gang.ts, issue 15). */
  async allocateGang(tenant: string, body: unknown): Promise<Gang> {
    const outcome = await allocateGang(this.ctx, tenant, body);
    const allocations = outcome.allocations.map(publicView);
    for (const a of allocations) this.record('allocated', a, `member of gang ${outcome.gang}`);
    return { id: outcome.gang, allocations };
  }

  getGang(tenant: string, id: string): Gang {
    return { id, allocations: gangMembers(this.ctx, tenant, id).map(publicView) };
  }

  /** Releases every member (each under its own lock); a member that fails stays, and DELETE may be retried. */
  async releaseGang(tenant: string, id: string): Promise<void> {
    const members = gangMembers(this.ctx, tenant, id);
    const results = await Promise.allSettled(members.map((a) => this.release(tenant, a.id)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async resize(tenant: string, id: string, body: unknown): Promise<Allocation> {
    const resized = await resize(this.ctx, tenant, id, body);
    this.record('resized', resized, 'resized by its tenant');
    return resized;
  }

  /** Moves a memory slice to a new extent (on one of `toAdapters`), contents preserved by DMA. */
  async migrate(
    tenant: string,
    id: string,
    resourceIndex: number,
    toAdapters: string[],
  ): Promise<Allocation> {
    const moved = await migrate(this.ctx, tenant, id, resourceIndex, toAdapters);
    this.record('migrated', moved, `resource ${resourceIndex} moved, contents copied by DMA`);
    return moved;
  }

  /** What reallocation did to the allocation, oldest first; readable after a reclaim (issue 15). */
  allocationEvents(tenant: string, id: string): AllocationEvent[] {
    if (!this.maintenance.events.heldBy(id, tenant)) owned(this.ctx, tenant, id); // NOT_FOUND otherwise
    return this.maintenance.events.of(id);
  }

  runJob(tenant: string, id: string, body: unknown): Promise<{ output: string }> {
    return runJob(this.ctx, tenant, id, body);
  }

  listBitstreams(tenant?: string): { id: string; function: string; version: string; signed: boolean }[] {
    return listBitstreams(this.ctx, tenant);
  }

  async registerBitstream(tenant: string, body: unknown): Promise<{ id: string }> {
    return registerBitstream(this.ctx, tenant, body);
  }

  async publishBitstream(tenant: string, id: string): Promise<{ id: string }> {
    return publishBitstream(this.ctx, tenant, id);
  }
}
