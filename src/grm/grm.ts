// The Global Resource Manager: allocate -> configure through the agents -> commit, atomically across
// adapters; release, resize (in place or by DMA migration), jobs, and the state the API shows.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AgentAdapter } from '../agent/agent.js';
import type { AgentClient } from '../agent/protocol.js';
import type { Catalog } from '../bitstream/catalog.js';
import { BitstreamCode } from '../bitstream/codes.js';
import { RaError } from '../driver/errors.js';
import type { FunctionName } from '../driver/functions.js';
import { jobBufferBytes, matmulParams } from '../driver/jobs.js';
import { randomOwnerKey } from '../driver/slices.js';
import {
  buildAvailability,
  type ExistingSlice,
  type PlanFailure,
  planGrow,
  planMigration,
  planRequest,
  planShrink,
  preferred,
  type ResizePlan,
  type Placement as RvlPlacement,
} from '../rvl/index.js';
import type { SlicePlacement } from '../rvl/plan.js';
import type { AllocationStore, StoredAllocation, StoreHealth } from '../store/store.js';
import { type BitstreamLimits, defaultBitstreamLimits, validateBitstreamUpload } from './bitstream-upload.js';
import { Mutex } from './mutex.js';
import { type PoolSnapshot, toAdapterViews, toInventory } from './pool.js';
import {
  type AdapterView,
  type AllocatedResource,
  type Allocation,
  type GrmApi,
  GrmCode,
  type Placement,
  type ResizeRequest,
  type ResourceRequest,
} from './types.js';
import { validateAllocation, validateJob, validateResize } from './validate.js';

export interface GrmOptions {
  agents: AgentClient[];
  store: AllocationStore;
  catalog: Catalog;
  log: Logger;
  /** Tenants that may publish bitstreams to everyone; what they register is published at once. */
  operators?: ReadonlySet<string>;
  bitstreamLimits?: BitstreamLimits;
}

const notFound = (id: string) => new RaError(GrmCode.NOT_FOUND, `allocation ${id} does not exist`);
const newOwnerKey = () => randomOwnerKey().toString(16).padStart(16, '0');
const publicView = ({ ownerKey: _k, ...a }: StoredAllocation): Allocation => a;

export class Grm implements GrmApi {
  readonly allocations = new Map<string, StoredAllocation>();
  private readonly mutex = new Mutex();
  /** Allocations whose memory is being copied to a reserved target slice (outside the mutex). */
  private readonly moving = new Set<string>();
  /** Jobs running per allocation: work in flight is use, whatever the counters say yet. */
  private readonly jobsRunning = new Map<string, number>();
  /** When each allocation's last job returned (Date.now() ms): its result is use too. */
  private readonly jobsEndedMs = new Map<string, number>();
  private lastPool: PoolSnapshot = { adapters: [] };
  private readonly agentsByServer: Map<string, AgentClient>;
  readonly log: Logger;

  constructor(private readonly o: GrmOptions) {
    this.log = o.log;
    this.agentsByServer = new Map(o.agents.map((a) => [a.server, a]));
    for (const [id, a] of o.store.load().allocations) this.allocations.set(id, a);
  }

  /** Jobs of allocation `id` submitted and not yet finished (the idle rule must not reclaim it). */
  jobsInFlight(id: string): number {
    return this.jobsRunning.get(id) ?? 0;
  }

  /** When the allocation's last job finished, in Date.now() ms (0: never). */
  lastJobEndedMs(id: string): number {
    return this.jobsEndedMs.get(id) ?? 0;
  }

  /** Runs fn with no allocation, release or resize in flight (the reallocation loop uses it). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  get store(): AllocationStore {
    return this.o.store;
  }

  /** owner key -> allocation id, for attributing slices read from the registers. */
  keyIndex(): Map<string, string> {
    return new Map([...this.allocations.values()].map((a) => [a.ownerKey, a.id]));
  }

  agentFor(adapterId: string): AgentClient {
    const agent = this.agentsByServer.get(adapterId.slice(0, adapterId.lastIndexOf('/')));
    if (!agent) throw new RaError(GrmCode.ADAPTER_FAILURE, `no agent serves adapter ${adapterId}`);
    return agent;
  }

  /** Reads every agent's adapters (registers are the truth for devices). */
  async readPool(): Promise<PoolSnapshot> {
    const parts = await Promise.all(
      this.o.agents.map((a) => a.call<{ adapters: AgentAdapter[] }>('inventory')),
    );
    this.lastPool = { adapters: parts.flatMap((p) => p.adapters) };
    return this.lastPool;
  }

  async listAdapters(): Promise<AdapterView[]> {
    return toAdapterViews(await this.readPool(), this.keyIndex());
  }

  health(): { ok: boolean; adapters: number; unhealthy: number; store: StoreHealth } {
    const unhealthy = this.lastPool.adapters.filter((a) => a.health === 'unhealthy').length;
    const store = this.o.store.health(); // a store that cannot write makes every change fail
    return {
      ok: this.lastPool.adapters.length > unhealthy && store.writable,
      adapters: this.lastPool.adapters.length,
      unhealthy,
      store,
    };
  }

  get(tenant: string, id: string): Allocation {
    return publicView(this.owned(tenant, id));
  }

  list(tenant: string): Allocation[] {
    return [...this.allocations.values()].filter((a) => a.tenant === tenant).map(publicView);
  }

  private owned(tenant: string, id: string): StoredAllocation {
    const a = typeof id === 'string' ? this.allocations.get(id) : undefined;
    if (!a || a.tenant !== tenant) throw notFound(id); // another tenant's allocation does not exist for you
    return a;
  }

  /**
   * The tenant's allocation, refused when it is lost: its placements may name slices another
   * allocation holds by now, so only GET and DELETE may touch it.
   */
  private usable(tenant: string, id: string): StoredAllocation {
    const a = this.owned(tenant, id);
    if (a.state === 'lost') {
      throw new RaError(
        GrmCode.ALLOCATION_LOST,
        `allocation ${id} is lost (an adapter it used failed): it can only be read or released (DELETE); allocate anew`,
      );
    }
    return a;
  }

  /** Plan, record the intent, configure every adapter, commit; any failure rolls back every adapter touched. */
  async allocate(tenant: string, body: unknown): Promise<Allocation> {
    const { placement, policy } = validateAllocation(body);
    // Before anything is planned or journaled: a bitstream this tenant may not use does not exist.
    for (const r of placement.resources) if (r.kind === 'logic') this.o.catalog.get(r.bitstream, tenant);
    return this.mutex.run(async () => {
      const pool = await this.readPool();
      const result = planRequest(this.inventoryFor(tenant, pool), placement, preferred);
      if (!result.ok) throw unavailable(result);
      const id = `a-${randomBytes(6).toString('hex')}`;
      const ownerKey = newOwnerKey();
      const placements = result.plan.placements;
      await this.o.store.recordIntent({
        id,
        tenant,
        ownerKey,
        placements: placements.map(toPublicPlacement),
        createdAt: new Date().toISOString(),
      });
      try {
        await this.configure(id, tenant, ownerKey, placements);
      } catch (err) {
        await this.o.store.abortIntent(id);
        throw err;
      }
      const now = new Date();
      const allocation: StoredAllocation = {
        id,
        tenant,
        state: 'active',
        ownerKey,
        policy,
        createdAt: now.toISOString(),
        ...(policy.leaseMs ? { leaseExpiresAt: new Date(now.getTime() + policy.leaseMs).toISOString() } : {}),
        resources: placement.resources.map((r, i) =>
          resourceOf(
            r as ResourceRequest,
            placements.filter((p) => p.resourceIndex === i),
          ),
        ),
      };
      try {
        await this.o.store.commit(allocation); // durable before the client hears "201"
      } catch (err) {
        // Not committed: the client hears an error, so the slices must not stay programmed.
        await this.unprogram(id, ownerKey, placements);
        await this.o.store.abortIntent(id);
        throw err;
      }
      this.allocations.set(id, allocation);
      this.log.info({ allocation: id, tenant, slices: placements.length }, 'allocated');
      return publicView(allocation);
    });
  }

  /**
   * Policy "replace": programs the slices that sat on failed adapters again on healthy ones, with the
   * same owner key. A crash half way leaves slices with the allocation's key outside its placements,
   * which reconciliation releases (stray slices), so no intent record is needed.
   */
  async replaceFailedSlices(
    a: StoredAllocation,
    failed: (adapter: string) => boolean,
  ): Promise<StoredAllocation> {
    const wanted = a.resources.map((r): ResourceRequest | undefined => {
      const gone = r.placements.filter((p) => failed(p.adapter));
      if (gone.length === 0) return undefined;
      if (r.kind === 'memory') return { kind: 'memory', bytes: gone.reduce((n, p) => n + (p.bytes ?? 0), 0) };
      if (r.kind === 'compute')
        return { kind: 'compute', units: gone.reduce((n, p) => n + (p.units ?? 0), 0) };
      if (r.kind === 'accelerator') return { kind: 'accelerator', function: r.function! };
      return { kind: 'logic', bitstream: r.bitstream! };
    });
    const indices = wanted.flatMap((w, i) => (w ? [i] : []));
    const request = {
      resources: indices.map((i) => wanted[i]!),
      policy: { ...(a.policy.sameServer ? { sameServer: a.policy.sameServer } : {}) },
    };
    const result = planRequest(this.inventoryFor(a.tenant, await this.readPool()), request, preferred);
    if (!result.ok) throw unavailable(result);
    await this.configure(a.id, a.tenant, a.ownerKey, result.plan.placements);
    const replaced: StoredAllocation = {
      ...a,
      resources: a.resources.map((r, i) => {
        const k = indices.indexOf(i);
        if (k < 0) return r;
        const fresh = result.plan.placements.filter((p) => p.resourceIndex === k).map(toPublicPlacement);
        return { ...r, placements: [...r.placements.filter((p) => !failed(p.adapter)), ...fresh] };
      }),
    };
    await this.o.store.update(replaced);
    this.allocations.set(a.id, replaced);
    return replaced;
  }

  /**
   * The pool as `tenant` may plan on it: a slot whose engine is not the image this tenant would load
   * for its function (another tenant's bitstream) is shown as a foreign, unshareable engine.
   */
  private inventoryFor(tenant: string, pool: PoolSnapshot) {
    return toInventory(pool, this.keyIndex(), (fn) => this.imageFor(tenant, fn)?.payloadSha256);
  }

  /** The catalog entry `tenant` gets for function `fn`: its newest visible one. */
  private imageFor(tenant: string, fn: string) {
    return this.o.catalog.findByFunction(fn, {}, tenant)[0];
  }

  /**
   * The load the agent performs, by catalog id: a function request loads the image chosen for the
   * tenant, never whichever image is newest for everyone.
   */
  private loadFor(tenant: string, load: NonNullable<RvlPlacement['loadBitstream']>): { bitstream: string } {
    if ('bitstream' in load) return { bitstream: this.o.catalog.get(load.bitstream, tenant).id };
    const entry = this.imageFor(tenant, load.function);
    if (!entry)
      throw new RaError(BitstreamCode.NOT_FOUND, `no bitstream in the catalog provides ${load.function}`);
    return { bitstream: entry.id };
  }

  /** Loads bitstreams and programs slices in plan order; on failure releases what it programmed. */
  private async configure(
    id: string,
    tenant: string,
    ownerKey: string,
    placements: readonly RvlPlacement[],
  ): Promise<void> {
    const programmed: RvlPlacement[] = [];
    const loaded = new Set<string>();
    try {
      for (const p of placements) {
        const agent = this.agentFor(p.adapter);
        const slotKey = `${p.adapter}#${p.slot}`;
        if (p.loadBitstream && !loaded.has(slotKey)) {
          // Never forced: force would evict other tenants' contexts (ra-spec §5); a busy slot means our
          // view was stale, and SLOT_BUSY rolls the allocation back as a conflict.
          await agent.call('load', {
            adapter: p.adapter,
            slot: p.slot,
            ...this.loadFor(tenant, p.loadBitstream),
          });
          loaded.add(slotKey);
        }
        await agent.call('program', {
          adapter: p.adapter,
          entry: p.entry,
          kind: p.kind,
          base: p.base,
          length: this.contextsFor(p),
          ...(p.slot !== undefined ? { slot: p.slot } : {}),
          ownerKey,
        });
        programmed.push(p);
      }
    } catch (err) {
      this.log.warn({ allocation: id, err: (err as Error).message }, 'configuration failed: rolling back');
      await this.unprogram(id, ownerKey, programmed);
      const e = err as RaError;
      throw new RaError(
        e.code === 'OVERLAP' || e.code === 'NO_RESOURCE' || e.code === 'SLOT_BUSY'
          ? GrmCode.CONFLICT
          : GrmCode.ADAPTER_FAILURE,
        `configuring the adapters failed and was rolled back: ${e.message}`,
        { cause: e.code },
      );
    }
  }

  /** Releases programmed slices, newest first; a failure is logged and left to reconciliation. */
  private async unprogram(id: string, ownerKey: string, programmed: readonly RvlPlacement[]): Promise<void> {
    for (const p of [...programmed].reverse()) {
      await this.agentFor(p.adapter)
        .call('release', { adapter: p.adapter, entry: p.entry, ownerKey })
        .catch((e: Error) =>
          this.log.error(
            { allocation: id, adapter: p.adapter, entry: p.entry, err: e.message },
            'rollback could not release a slice; reconciliation will',
          ),
        );
    }
  }

  /**
   * A logic request takes every context of its slot; the RVL plans with the adapter's maximum, the
   * bitstream may provide fewer (its descriptor says how many).
   */
  private contextsFor(p: RvlPlacement): number {
    if (!p.loadBitstream || !('bitstream' in p.loadBitstream)) return p.length;
    return Math.min(p.length, this.o.catalog.get(p.loadBitstream.bitstream).contexts);
  }

  async release(tenant: string, id: string): Promise<void> {
    this.owned(tenant, id); // an unknown id fails at once, not behind the queue
    // Looked up again inside: a resize or migration queued before us may have changed the placements.
    return this.mutex.run(() => this.releaseLocked(this.owned(tenant, id), 'released by its tenant'));
  }

  async releaseLocked(a: StoredAllocation, why: string): Promise<void> {
    // Durable first: a store that cannot write leaves the allocation whole (active, slices programmed);
    // a slice whose release fails after this is an orphan that reconciliation releases.
    await this.o.store.remove(a.id);
    this.allocations.delete(a.id);
    for (const r of a.resources) {
      for (const p of r.placements) {
        await this.agentFor(p.adapter)
          .call('release', { adapter: p.adapter, entry: p.slice, ownerKey: a.ownerKey })
          .catch((e: RaError) =>
            this.log.warn(
              { allocation: a.id, adapter: p.adapter, entry: p.slice, err: e.message },
              'slice already gone while releasing',
            ),
          );
      }
    }
    this.jobsEndedMs.delete(a.id);
    this.log.info({ allocation: a.id, why }, 'released');
  }

  /** Grow or shrink a memory or compute resource; a grow that cannot happen in place migrates by DMA. */
  private resizable(a: StoredAllocation, req: ResizeRequest): AllocatedResource {
    const resource = a.resources[req.resource];
    if (!resource || (resource.kind !== 'memory' && resource.kind !== 'compute')) {
      throw new RaError(
        GrmCode.INVALID_REQUEST,
        `resources[${req.resource}] is not a memory or compute resource of ${a.id}`,
        { field: 'resource' },
      );
    }
    if ((resource.kind === 'memory') !== (req.bytes !== undefined)) {
      throw new RaError(
        GrmCode.INVALID_REQUEST,
        `resources[${req.resource}] is ${resource.kind}: give ${resource.kind === 'memory' ? 'bytes' : 'units'}`,
        { field: 'bytes' },
      );
    }
    if (resource.placements.length !== 1) {
      throw new RaError(
        GrmCode.CONFLICT,
        `resources[${req.resource}] is spread over ${resource.placements.length} slices; only single-slice resources resize`,
      );
    }
    return resource;
  }

  async resize(tenant: string, id: string, body: unknown): Promise<Allocation> {
    const req = validateResize(body);
    this.resizable(this.usable(tenant, id), req); // refuse at once what can never resize
    const step = await this.mutex.run(async (): Promise<Allocation | Move> => {
      // Looked up inside the mutex: a resize, migration or release queued before us may have run.
      const a = this.notMoving(this.usable(tenant, id));
      const resource = this.resizable(a, req);
      const pool = await this.readPool();
      const inventory = toInventory(pool, this.keyIndex());
      const p = resource.placements[0]!;
      const slice = inventory.slices.find((s) => s.adapter === p.adapter && s.entry === p.slice);
      if (!slice)
        throw new RaError(
          GrmCode.CONFLICT,
          `slice ${p.adapter}#${p.slice} of ${id} is missing on the adapter`,
        );
      const target = req.bytes ?? req.units!;
      // A single-slice resource lives on one adapter: a target above every adapter's capacity is
      // refused here, naming the client's field and value (the RVL would round it past 2^53).
      const field = req.bytes !== undefined ? 'bytes' : 'units';
      const capacity = Math.max(
        0,
        ...pool.adapters.map((x) => (req.bytes !== undefined ? x.memoryBytes : x.computeUnits)),
      );
      if (target > capacity)
        throw new RaError(
          GrmCode.RESOURCE_UNAVAILABLE,
          `${field} ${target} is more than any adapter holds (the largest has ${capacity}); ask for at most that`,
          { field, resource: req.resource },
        );
      const availability = buildAvailability(inventory);
      let plan: ResizePlan;
      if (target < slice.length) plan = planShrink(availability, slice, target);
      else if (target === slice.length) return publicView(a);
      else {
        const r = planGrow(availability, slice, target, {
          sameServer: pool.adapters.find((x) => x.id === p.adapter)?.server ?? '',
        });
        if (!r.ok) throw unavailable(r);
        plan = r.plan;
      }
      if (plan.kind === 'migrate') return this.reserveMove(a, req.resource, slice, plan.to, target);
      const updated = await this.resizeInPlace(a, req.resource, slice, plan.toLength, target);
      this.log.info({ allocation: id, resource: req.resource, plan: plan.kind }, 'resized');
      return publicView(updated);
    });
    if (!isMove(step)) return step;
    const updated = await this.finishMove(step);
    this.log.info({ allocation: id, resource: req.resource, plan: 'migrate' }, 'resized');
    return publicView(updated);
  }

  /** Moves a memory slice to a new extent (another adapter if needed), contents preserved by DMA. */
  async migrate(
    tenant: string,
    id: string,
    resourceIndex: number,
    toAdapters: string[],
  ): Promise<Allocation> {
    const single = (a: StoredAllocation) => {
      const resource = a.resources[resourceIndex];
      if (resource?.kind !== 'memory' || resource.placements.length !== 1) {
        throw new RaError(
          GrmCode.INVALID_REQUEST,
          `resources[${resourceIndex}] is not a single-slice memory resource`,
        );
      }
      return resource;
    };
    single(this.usable(tenant, id));
    const move = await this.mutex.run(async () => {
      const a = this.notMoving(this.usable(tenant, id)); // fresh: something queued before us may have moved it
      const resource = single(a);
      const inventory = toInventory(await this.readPool(), this.keyIndex());
      const p = resource.placements[0]!;
      const slice = inventory.slices.find((s) => s.adapter === p.adapter && s.entry === p.slice);
      if (!slice)
        throw new RaError(GrmCode.CONFLICT, `slice ${p.adapter}#${p.slice} is missing on the adapter`);
      const r = planMigration(buildAvailability(inventory), slice, toAdapters);
      if (!r.ok) throw unavailable(r);
      if (r.plan.kind !== 'migrate') throw new RaError(GrmCode.CONFLICT, 'the migration plan moves nothing');
      return this.reserveMove(a, resourceIndex, slice, r.plan.to, resource.bytes ?? slice.length);
    });
    const updated = await this.finishMove(move);
    this.log.info(
      {
        allocation: id,
        from: move.from.adapter,
        to: updated.resources[resourceIndex]!.placements[0]!.adapter,
      },
      'migrated',
    );
    return publicView(updated);
  }

  /** Refuses a second resize or migration while one is copying (ra-spec §10: one slice, one move). */
  private notMoving(a: StoredAllocation): StoredAllocation {
    if (this.moving.has(a.id))
      throw new RaError(GrmCode.CONFLICT, `allocation ${a.id} is being migrated; retry when that finishes`);
    return a;
  }

  private async resizeInPlace(
    a: StoredAllocation,
    index: number,
    slice: ExistingSlice,
    toLength: number,
    target: number,
  ): Promise<StoredAllocation> {
    const resource = a.resources[index]!;
    await this.agentFor(slice.adapter).call('resize', {
      adapter: slice.adapter,
      entry: slice.entry,
      ownerKey: a.ownerKey,
      length: toLength,
    });
    const placement: Placement = {
      ...resource.placements[0]!,
      ...(slice.kind === 'memory' ? { bytes: toLength } : { units: toLength }),
    };
    return this.commitResource(a, index, placement, target);
  }

  /** Records the resource's new placement: durable before anything old is released. */
  private async commitResource(
    a: StoredAllocation,
    index: number,
    placement: Placement,
    target: number,
  ): Promise<StoredAllocation> {
    const resource = a.resources[index]!;
    const resized: AllocatedResource = {
      ...resource,
      ...(resource.kind === 'memory' ? { bytes: target } : { units: target }),
      placements: [placement],
    };
    const updated: StoredAllocation = {
      ...a,
      resources: a.resources.map((r, i) => (i === index ? resized : r)),
    };
    // Durable before the old slice goes: a crash from here on leaves the old slice as a stray
    // (reconciliation releases it), never the allocation pointing at a released slice.
    await this.o.store.update(updated);
    this.allocations.set(a.id, updated);
    return updated;
  }

  /**
   * Step 1 of a migration, under the mutex: programs the target slice with the allocation's key,
   * which reserves it (every plan sees it as the allocation's), and marks the allocation as moving.
   */
  private async reserveMove(
    a: StoredAllocation,
    index: number,
    from: ExistingSlice,
    to: SlicePlacement,
    target: number,
  ): Promise<Move> {
    await this.agentFor(to.adapter).call('program', {
      adapter: to.adapter,
      entry: to.entry,
      kind: to.kind,
      base: to.base,
      length: to.length,
      ownerKey: a.ownerKey,
    });
    this.moving.add(a.id);
    return { move: true, id: a.id, ownerKey: a.ownerKey, index, from, to, target };
  }

  /**
   * Steps 2 and 3: copies the contents by DMA without the mutex (a large copy takes seconds and
   * unrelated allocations must not wait), then commits the switch under the mutex. A release of the
   * allocation during the copy wins: the target slice is released and the move reports it.
   */
  private async finishMove(m: Move): Promise<StoredAllocation> {
    const releaseTarget = () =>
      this.agentFor(m.to.adapter)
        .call('release', { adapter: m.to.adapter, entry: m.to.entry, ownerKey: m.ownerKey })
        .catch((e: Error) =>
          this.log.warn(
            { allocation: m.id, adapter: m.to.adapter, entry: m.to.entry, err: e.message },
            'migration target not released; reconciliation will',
          ),
        );
    try {
      let copyError: unknown;
      if (m.from.kind === 'memory') {
        await this.agentFor(m.to.adapter)
          .call('copy', {
            srcAdapter: m.from.adapter,
            srcEntry: m.from.entry,
            srcOffset: 0,
            dstAdapter: m.to.adapter,
            dstEntry: m.to.entry,
            dstOffset: 0,
            bytes: Math.min(m.from.length, m.to.length),
            ownerKey: m.ownerKey,
          })
          .catch((err: unknown) => {
            copyError = err;
          });
      }
      return await this.mutex.run(async () => {
        const a = this.allocations.get(m.id);
        const still = a?.state === 'active' && a.ownerKey === m.ownerKey;
        if (!still || copyError !== undefined) {
          await releaseTarget();
          if (!still)
            throw new RaError(
              GrmCode.CONFLICT,
              `allocation ${m.id} was ${a ? 'lost' : 'released'} while its memory was being migrated; nothing was moved`,
            );
          throw copyError;
        }
        const placement: Placement = {
          adapter: m.to.adapter,
          slice: m.to.entry,
          ...(m.to.kind === 'memory' ? { offset: m.to.base, bytes: m.to.length } : { units: m.to.length }),
        };
        // Durable before the old slice goes: a crash from here on leaves the old slice as a stray
        // (reconciliation releases it), never the allocation pointing at a released slice.
        const updated = await this.commitResource(a, m.index, placement, m.target);
        await this.agentFor(m.from.adapter)
          .call('release', { adapter: m.from.adapter, entry: m.from.entry, ownerKey: m.ownerKey })
          .catch((e: Error) =>
            this.log.warn(
              { allocation: m.id, adapter: m.from.adapter, entry: m.from.entry, err: e.message },
              'old slice not released after migration; reconciliation will',
            ),
          );
        return updated;
      });
    } finally {
      this.moving.delete(m.id);
    }
  }

  /** Runs a job on the allocation's engine: a scratch memory slice on the engine's adapter, then the engine. */
  async runJob(tenant: string, id: string, body: unknown): Promise<{ output: string }> {
    const job = validateJob(body);
    this.usable(tenant, id);
    // Counted before the first await: a reallocation pass that runs while this job waits or runs
    // sees the allocation in use (ra-spec §10 counters move only when a job completes).
    this.jobsRunning.set(id, this.jobsInFlight(id) + 1);
    try {
      return await this.runJobCounted(tenant, id, job);
    } finally {
      const left = this.jobsInFlight(id) - 1;
      if (left > 0) this.jobsRunning.set(id, left);
      else this.jobsRunning.delete(id);
      if (this.allocations.has(id)) this.jobsEndedMs.set(id, Date.now());
    }
  }

  private async runJobCounted(
    tenant: string,
    id: string,
    job: ReturnType<typeof validateJob>,
  ): Promise<{ output: string }> {
    const a = this.usable(tenant, id);
    const resource = a.resources.find((r) =>
      job.function === 'matmul-f32'
        ? r.kind === 'compute'
        : job.function === 'pipeline'
          ? r.kind === 'logic'
          : r.kind === 'accelerator' && r.function === job.function,
    );
    const engine = resource?.placements[0];
    if (!engine)
      throw new RaError(GrmCode.INVALID_REQUEST, `allocation ${id} has no ${job.function} engine`, {
        field: 'function',
      });
    const params = jobParams(job.function, job.params);
    const scratchBytes = jobBufferBytes(
      job.function as FunctionName,
      job.inputBytes.length,
      params ? Buffer.from(params, 'hex') : undefined,
    );
    // Scratch memory for the input and output: on the engine's adapter when it has room, else on
    // another adapter of the same server, which the engine reaches over the fabric (ra-spec §1).
    const server = (adapter: string) => adapter.slice(0, adapter.lastIndexOf('/'));
    const scratch = await this.mutex.run(async () => {
      this.usable(tenant, id); // lost or released while the job waited for the mutex
      const inventory = toInventory(await this.readPool(), this.keyIndex());
      const memory = { kind: 'memory' as const, bytes: scratchBytes };
      let r = planRequest(
        inventory,
        {
          resources: [memory],
          policy: { maxAdapters: 1, adaptersInUse: [engine.adapter], allowSplit: false },
        },
        preferred,
      );
      if (!r.ok)
        r = planRequest(
          inventory,
          {
            resources: [memory],
            policy: { maxAdapters: 1, sameServer: server(engine.adapter), allowSplit: false },
          },
          preferred,
        );
      const p = r.ok ? r.plan.placements[0] : undefined;
      if (!p || server(p.adapter) !== server(engine.adapter))
        throw new RaError(
          GrmCode.RESOURCE_UNAVAILABLE,
          `no free memory on ${server(engine.adapter)} to stage the job input`,
        );
      await this.agentFor(p.adapter).call('program', {
        adapter: p.adapter,
        entry: p.entry,
        kind: 'memory',
        base: p.base,
        length: p.length,
        ownerKey: a.ownerKey,
      });
      return p;
    });
    const agent = this.agentFor(engine.adapter);
    try {
      return await agent.call<{ output: string }>('runJob', {
        adapter: engine.adapter,
        function: job.function,
        engineEntry: engine.slice,
        memoryAdapter: scratch.adapter,
        memoryEntry: scratch.entry,
        memoryBytes: scratch.length,
        ownerKey: a.ownerKey,
        input: job.input,
        ...(job.function === 'aes-256-gcm' ? { key: job.params?.key } : {}),
        ...(params ? { params } : {}),
      });
    } finally {
      await agent
        .call('release', { adapter: scratch.adapter, entry: scratch.entry, ownerKey: a.ownerKey })
        .catch(() => undefined);
    }
  }

  /** The bitstreams `tenant` may use: published ones and its own. */
  listBitstreams(tenant?: string): { id: string; function: string; version: string; signed: boolean }[] {
    return this.o.catalog
      .list(tenant)
      .map((e) => ({ id: e.id, function: e.function, version: e.version, signed: e.signature.signed }));
  }

  /**
   * Registers a tenant's bitstream as its own (docs/bitstreams.md, "Ownership"): other tenants
   * neither see nor load it. An operator's registration is published to every tenant.
   */
  async registerBitstream(tenant: string, body: unknown): Promise<{ id: string }> {
    const limits = this.o.bitstreamLimits ?? defaultBitstreamLimits;
    const upload = validateBitstreamUpload(body, limits);
    const operator = this.o.operators?.has(tenant) ?? false;
    const owned = this.o.catalog.list().filter((e) => e.owner === tenant);
    const id = (upload.descriptor as { id?: unknown }).id;
    const replacing = owned.some((e) => e.id === id);
    if (!operator && !replacing) {
      const usedBytes = owned.reduce((n, e) => n + e.imageBytes, 0);
      if (owned.length >= limits.perTenantCount || usedBytes + upload.image.length > limits.perTenantBytes) {
        throw new RaError(
          GrmCode.BITSTREAM_QUOTA,
          `tenant ${tenant} holds ${owned.length} bitstreams of ${usedBytes} bytes; the limit is ${limits.perTenantCount} bitstreams and ${limits.perTenantBytes} bytes: remove one first`,
          { count: owned.length, bytes: usedBytes },
        );
      }
    }
    const entry = this.o.catalog.register(upload, operator ? {} : { owner: tenant });
    this.log.info(
      { bitstream: entry.id, tenant, published: entry.owner === undefined },
      'bitstream registered',
    );
    return { id: entry.id };
  }

  /** An operator makes a tenant's bitstream usable by every tenant. */
  async publishBitstream(tenant: string, id: string): Promise<{ id: string }> {
    if (!this.o.operators?.has(tenant)) {
      throw new RaError(
        GrmCode.FORBIDDEN,
        `only operators may publish bitstreams; ${tenant} is not one (serve --operators)`,
      );
    }
    const entry = this.o.catalog.publish(this.o.catalog.get(id).id);
    this.log.info({ bitstream: entry.id, by: tenant }, 'bitstream published');
    return { id: entry.id };
  }
}

/** A migration between its reservation and its commit. */
interface Move {
  move: true;
  id: string;
  ownerKey: string;
  index: number;
  from: ExistingSlice;
  to: SlicePlacement;
  target: number;
}

const isMove = (x: Allocation | Move): x is Move => 'move' in x;

function jobParams(
  fn: string,
  params: { iv?: string; m?: number; n?: number; k?: number } | undefined,
): string | undefined {
  if (fn === 'aes-256-gcm') return params?.iv;
  if (fn !== 'matmul-f32' || !params) return undefined;
  return matmulParams(params.m ?? 0, params.n ?? 0, params.k ?? 0).toString('hex');
}

function unavailable(f: PlanFailure): RaError {
  return new RaError(GrmCode.RESOURCE_UNAVAILABLE, f.details.message, {
    resource: f.details.resourceIndex,
    why: f.details.why,
    skipped: f.details.skipped,
  });
}

function toPublicPlacement(p: RvlPlacement): Placement {
  return {
    adapter: p.adapter,
    slice: p.entry,
    ...(p.kind === 'memory' ? { offset: p.base, bytes: p.bytes ?? p.length } : {}),
    ...(p.kind === 'compute' ? { units: p.units ?? p.length } : {}),
    ...(p.kind === 'context' ? { slot: p.slot!, context: p.base, contexts: p.length } : {}),
  };
}

function resourceOf(r: ResourceRequest, placements: RvlPlacement[]): AllocatedResource {
  return {
    kind: r.kind,
    ...(r.kind === 'accelerator' ? { function: r.function } : {}),
    ...(r.kind === 'logic' ? { bitstream: r.bitstream } : {}),
    ...(r.kind === 'memory' ? { bytes: r.bytes } : {}),
    ...(r.kind === 'compute' ? { units: r.units } : {}),
    placements: placements.map(toPublicPlacement),
  };
}
