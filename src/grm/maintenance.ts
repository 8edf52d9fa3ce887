// What reconciliation (reconcile.ts) and reallocation (reallocator.ts) may ask of the GRM, and nothing
// more: read the registers into the live index, classify what they found, release a slice, and act on
// one allocation under its lock. Both run beside allocation, never instead of it.
import type { Logger } from 'pino';
import type { AgentAdapter } from '../agent/agent.js';
import type { SliceSample } from '../rvl/index.js';
import type { Intent, StoredAllocation } from '../store/store.js';
import { replaceFailedSlices } from './allocate.js';
import { adaptersOf, type GrmContext } from './context.js';
import { resizeContexts } from './elastic/contexts.js';
import { AllocationEvents } from './elastic/events.js';
import { issuingGrants, listWindows, revokeGrants } from './grants.js';
import { markLost, releaseAllocation } from './release.js';
import { intentInFlight } from './replica-sync.js';
import { resize } from './resize.js';
import type { Placement } from './types.js';

/** Whose a slice found in the registers is. */
export type SliceOwner =
  /** One of a committed allocation's placements: as it should be. */
  | { kind: 'placement'; allocation: string }
  /** Held by a reservation (an allocation, resize or migration configuring), or a running job's scratch. */
  | { kind: 'in-flight' }
  /** The key of an intent a crash left (never committed). */
  | { kind: 'intent'; allocation: string }
  /** The key of a committed allocation, not one of its placements (an interrupted job or migration). */
  | { kind: 'stray'; allocation: string }
  /** A key no allocation holds. */
  | { kind: 'orphan' };

export interface CheckedSlice {
  adapter: string;
  entry: number;
  ownerKey: string;
  owner: SliceOwner;
  /** The slice's label in the index. */
  label: string;
}

/** Whose a tenant window found open on an adapter is. */
export type WindowOwner =
  /** The window of an allocation's recorded grants. */
  | { kind: 'granted'; allocation: string }
  /** Being issued now (this GRM), or seen for the first time unrecorded while replicas share the store. */
  | { kind: 'in-flight' }
  /** The key of an allocation whose record does not name this window (a grant never recorded). */
  | { kind: 'unrecorded'; allocation: string }
  /** No allocation holds its key. */
  | { kind: 'orphan' };

/** A tenant window found open on an adapter (the agent's ListWindows). */
export interface CheckedWindow {
  adapter: string;
  window: number;
  queue: number;
  /** The key it was opened with (the agent's key book); absent: unknown, it cannot be closed by key. */
  ownerKey?: string;
  owner: WindowOwner;
}

export interface RegisterCheck {
  /** Adapters compared with their registers in this pass (the others had an operation in flight). */
  adapters: string[];
  /** Every slice in use on those adapters. */
  slices: CheckedSlice[];
  /** Active allocations with placements on those adapters that the registers do not hold. */
  missing: { allocation: StoredAllocation; placements: Placement[] }[];
  /** Servers whose agent answers again after failing. */
  reconnected: string[];
}

export interface Observation {
  /** The adapters as their agents reported them now (health from the heartbeat, counters). */
  adapters: AgentAdapter[];
  samples: SliceSample[];
  /**
   * Adapters of servers whose agent did not answer (down, restarting, cut off): not in `adapters`,
   * and unhealthy for the GRM until their agent answers again.
   */
  unreachable: string[];
}

export interface Maintenance {
  readonly log: Logger;
  /** Reads every agent, re-indexes the quiet adapters from their slice tables and classifies their slices. */
  checkRegisters(): Promise<RegisterCheck>;
  /**
   * Reads every agent and re-indexes the quiet adapters from their slice tables, judging nothing: how a
   * replica learns the slices other replicas programmed or released (replica-sync.ts).
   */
  reindex(): Promise<void>;
  /** Reads every agent for health and utilization (the index is tainted, not re-indexed). */
  observe(): Promise<Observation>;
  /** The tenant windows open on these adapters, classified against the allocations' recorded grants. */
  checkWindows(adapters: readonly string[]): Promise<CheckedWindow[]>;
  /** CMD_TENANT_CLOSE of a window with the key it was opened with (ra-spec §18.6). */
  closeWindow(w: CheckedWindow): Promise<void>;
  /** Releases a slice on its adapter and frees it in the index. */
  releaseSlice(s: CheckedSlice): Promise<void>;
  /**
   * Intents found in the store at start (and, for a replica, recorded by other replicas) that no
   * allocation in flight holds.
   */
  staleIntents(): Intent[];
  dropIntent(id: string): Promise<void>;
  activeAllocations(): StoredAllocation[];
  /** Runs fn under the allocation's lock with its present record (undefined once released). */
  withAllocation<T>(id: string, fn: (a: StoredAllocation | undefined) => Promise<T>): Promise<T>;
  /** The rest take the allocation as withAllocation gave it. */
  markLost(a: StoredAllocation): Promise<StoredAllocation>;
  release(a: StoredAllocation, why: string): Promise<void>;
  replaceFailedSlices(a: StoredAllocation, failed: (adapter: string) => boolean): Promise<StoredAllocation>;
  jobsInFlight(id: string): number;
  /** When the allocation's last job finished, in Date.now() ms (0: never). */
  lastJobEndedMs(id: string): number;
  /** What reallocation did to each allocation, for its tenant (issue 15). */
  readonly events: AllocationEvents;
  /** Resizes a single-slice compute resource (issue 15: elastic); takes the allocation's lock itself. */
  resizeCompute(a: StoredAllocation, resource: number, units: number): Promise<StoredAllocation>;
  /** Adds or releases context slices of an accelerator resource (issue 15: elastic contexts). */
  resizeContexts(a: StoredAllocation, resource: number, contexts: number): Promise<StoredAllocation>;
  /** Free compute units of each healthy adapter, as the live index holds them (issue 15: lending). */
  freeComputeUnits(): Promise<{ adapter: string; free: number }[]>;
  /** Compute units the tenant's quota still allows (Infinity: no limit; quotas.ts, issue 16). */
  unitsHeadroom(tenant: string): number;
}

const eventOf = (a: StoredAllocation) => ({ allocation: a.id, tenant: a.tenant, adapters: adaptersOf(a) });

export function maintenanceOf(ctx: GrmContext, startupIntents: Map<string, Intent>): Maintenance {
  const classify = (adapter: string, entry: number, ownerKey: string, label: string): SliceOwner => {
    const held = ctx.pool.adapter(adapter)?.slices.get(entry);
    if (held && (held.heldBy || ctx.scratch.has(held.allocation))) return { kind: 'in-flight' };
    for (const i of startupIntents.values()) {
      if (i.ownerKey !== ownerKey) continue;
      // Another replica's allocation configuring: in flight until its intent is stale (replica-sync.ts).
      if (intentInFlight(ctx.options.replica, i)) return { kind: 'in-flight' };
      return { kind: 'intent', allocation: i.id };
    }
    const a = ctx.allocations.get(label);
    if (a) {
      const mine = a.resources.some((r) =>
        r.placements.some((p) => p.adapter === adapter && p.slice === entry),
      );
      return mine ? { kind: 'placement', allocation: a.id } : { kind: 'stray', allocation: a.id };
    }
    if (ctx.configuring.has(label)) return { kind: 'in-flight' };
    return { kind: 'orphan' };
  };

  // Windows seen unrecorded in the last pass: with replicas, another replica may be between opening a
  // window and recording it (its allocation maybe committed after this replica's barrier), so such a
  // window is closed on its second sighting; a single GRM knows what it is issuing and closes at once.
  let unrecordedBefore = new Set<string>();
  const windowOwner = (
    byKey: ReadonlyMap<string, StoredAllocation>,
    adapter: string,
    w: { window: number; ownerKey?: string },
  ): WindowOwner => {
    // Windows are opened for committed allocations only: a key no allocation holds is nobody's.
    const a = w.ownerKey ? byKey.get(w.ownerKey) : undefined;
    if (!a) return { kind: 'orphan' };
    if (a.windows?.some((x) => x.adapter === adapter && x.window === w.window))
      return { kind: 'granted', allocation: a.id };
    if (issuingGrants(ctx, a.id)) return { kind: 'in-flight' };
    return { kind: 'unrecorded', allocation: a.id };
  };

  return {
    log: ctx.log,
    events: new AllocationEvents((e) => ctx.metrics.reallocated(e.action)),

    async checkWindows(adapters) {
      const found: CheckedWindow[] = [];
      const unrecordedNow = new Set<string>();
      for (const adapter of adapters) {
        let listed: Awaited<ReturnType<typeof listWindows>>;
        try {
          listed = await listWindows(ctx, adapter);
        } catch (err) {
          // An agent of protocol 2.0 has no ListWindows; one that stopped answering is looked at next pass.
          ctx.log.debug({ adapter, err: (err as Error).message }, 'tenant windows not listed');
          continue;
        }
        // The allocations as they are after the listing: a window listed was opened for one committed before.
        const byKey = new Map([...ctx.allocations.values()].map((a) => [a.ownerKey, a]));
        for (const w of listed) {
          let owner = windowOwner(byKey, adapter, w);
          if ((owner.kind === 'unrecorded' || owner.kind === 'orphan') && ctx.options.replica) {
            const at = `${adapter}#${w.window}#${w.ownerKey}`;
            unrecordedNow.add(at);
            if (!unrecordedBefore.has(at)) owner = { kind: 'in-flight' };
          }
          found.push({
            adapter,
            window: w.window,
            queue: w.queue,
            ...(w.ownerKey ? { ownerKey: w.ownerKey } : {}),
            owner,
          });
        }
      }
      unrecordedBefore = unrecordedNow;
      return found;
    },

    async closeWindow(w) {
      await ctx.commands
        .agentFor(w.adapter)
        .call('closeWindow', { adapter: w.adapter, window: w.window, ownerKey: w.ownerKey });
    },

    async checkRegisters() {
      await ctx.pool.ready();
      // The allocations as they stood before the registers were read: only those can be missing slices.
      // A committed allocation's slices were programmed before its commit, so they are in the reading;
      // one that arrives during the read (another replica's commit, heard by the watch or the barrier
      // below) may have been programmed after its adapter was read, and judging it by this reading
      // marked healthy allocations lost. It is judged by the next pass.
      const before = new Map(ctx.allocations);
      const reading = await ctx.pool.read();
      // A replica: the store view brought up to date after the read (every intent recorded before a slice
      // in the reading was programmed is then known); a replica that no longer leads judges nothing.
      if (ctx.options.replica && !(await ctx.options.replica.barrier())) {
        ctx.pool.apply(reading, true);
        return { adapters: [], slices: [], missing: [], reconnected: [] };
      }
      // From here to the return nothing awaits: the classification sees the index as just applied.
      const applied = ctx.pool.apply(reading, true);
      const checked = new Set(applied.checked.map((a) => a.id));
      const slices: CheckedSlice[] = applied.checked.flatMap((a) =>
        a.slices.map((s) => {
          const label = ctx.pool.labelOf(s.ownerKey);
          return {
            adapter: a.id,
            entry: s.entry,
            ownerKey: s.ownerKey,
            label,
            owner: classify(a.id, s.entry, s.ownerKey, label),
          };
        }),
      );
      const missing: RegisterCheck['missing'] = [];
      for (const a of ctx.allocations.values()) {
        if (a.state !== 'active' || before.get(a.id) !== a) continue;
        const gone = a.resources.flatMap((r) =>
          r.placements.filter(
            (p) =>
              checked.has(p.adapter) && ctx.pool.adapter(p.adapter)?.slices.get(p.slice)?.allocation !== a.id,
          ),
        );
        if (gone.length > 0) missing.push({ allocation: a, placements: gone });
      }
      return { adapters: [...checked], slices, missing, reconnected: applied.reconnected };
    },

    async reindex() {
      await ctx.pool.ready();
      ctx.pool.apply(await ctx.pool.read(), true);
    },

    async observe() {
      await ctx.pool.ready();
      const reading = await ctx.pool.read();
      const applied = ctx.pool.apply(reading, false);
      const failed = new Set(reading.failed);
      const unreachable = ctx.pool.adaptersOf(failed);
      return { adapters: reading.adapters, samples: applied.samples, unreachable };
    },

    async releaseSlice(s) {
      const done = ctx.pool.begin([s.adapter]);
      try {
        await ctx.commands.run(s.adapter, 'release', { entry: s.entry, ownerKey: s.ownerKey });
        ctx.pool.releaseSlice(s, s.label);
      } finally {
        done();
      }
    },

    staleIntents: () =>
      [...startupIntents.values()].filter(
        (i) => !ctx.configuring.has(i.id) && !intentInFlight(ctx.options.replica, i),
      ),

    async dropIntent(id) {
      // A replica compares the intent's revision as it saw it: one its replica committed meanwhile stays.
      await ctx.store.abortIntent(id, { expectedRevision: ctx.store.revisionOf(id) });
      startupIntents.delete(id);
    },

    activeAllocations: () => [...ctx.allocations.values()].filter((a) => a.state === 'active'),

    withAllocation: (id, fn) => ctx.locks.run(id, () => fn(ctx.allocations.get(id))),

    async markLost(a) {
      const lost = await markLost(ctx, a);
      ctx.events.record({ ...eventOf(a), kind: 'lost', detail: 'an adapter it used is unhealthy' });
      return lost;
    },
    async release(a, why) {
      await releaseAllocation(ctx, a, why);
      ctx.events.record({ ...eventOf(a), kind: 'reclaimed', detail: why });
    },
    async replaceFailedSlices(a, failed) {
      await revokeGrants(ctx, a); // placements change: grants are issued again on request
      const replaced = await replaceFailedSlices(ctx, a, failed);
      ctx.events.record({
        ...eventOf(replaced),
        kind: 'replaced',
        detail: 'slices on unhealthy adapters programmed again',
      });
      return replaced;
    },
    jobsInFlight: (id) => ctx.jobsRunning.get(id) ?? 0,
    lastJobEndedMs: (id) => ctx.jobsEndedMs.get(id) ?? 0,
    resizeCompute: async (a, resource, units) => {
      await resize(ctx, a.tenant, a.id, { resource, units });
      return ctx.allocations.get(a.id) ?? a;
    },
    resizeContexts: (a, resource, contexts) => resizeContexts(ctx, a.id, resource, contexts),
    freeComputeUnits: async () =>
      (await ctx.pool.ready())
        .view()
        .adapters.filter((x) => x.health === 'healthy')
        .map((x) => ({ adapter: x.id, free: x.freeCompute.reduce((n, e) => n + e.length, 0) })),
    unitsHeadroom: (tenant) => ctx.quotas.headroom(tenant, 'units'),
  };
}

/** What a background pass needs: the maintenance interface and the GRM's one-pass-at-a-time gate. */
export interface MaintainedGrm {
  maintenance: Maintenance;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Runs `pass` every `intervalMs`, beside allocation, never two at once (a pass still running when the
 * timer fires skips that tick); a failed pass is logged as `what`. Returns stop().
 */
export function startPeriodicPass(
  grm: MaintainedGrm,
  what: string,
  pass: () => Promise<unknown>,
  intervalMs: number,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    grm
      .exclusive(pass)
      .catch((err: Error) => grm.maintenance.log.error({ err: err.message }, `${what} failed`))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
