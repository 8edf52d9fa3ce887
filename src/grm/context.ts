// What the GRM's job modules (allocate, release, resize, jobs, bitstreams) share: the options, the
// allocations the store holds, the live pool, the per-adapter command queues and the per-allocation
// locks. Internal to src/grm: reconcile.ts and reallocator.ts see only the Maintenance interface.
import type { Logger } from 'pino';
import type { AgentClient } from '../agent/protocol.js';
import type { Catalog } from '../bitstream/catalog.js';
import { RaError } from '../common/errors.js';
import type { PlanFailure, PlannedSlice } from '../rvl/index.js';
import type { AllocationStore, StoredAllocation } from '../store/store.js';
import type { AdapterCommands } from './adapter-commands.js';
import type { BitstreamLimits } from './bitstream-upload.js';
import type { GrmEventLog } from './events.js';
import type { KeyedLock } from './keyed-lock.js';
import type { LivePool } from './live-pool.js';
import type { GrmMetrics } from './metrics.js';
import type { QuotaBook } from './quotas.js';
import type { ReplicaOptions } from './replica-sync.js';
import type { RequestClasses } from './request-classes.js';
import {
  type AllocatedResource,
  type Allocation,
  GrmCode,
  type Placement,
  type ResourceRequest,
} from './types.js';

export interface GrmOptions {
  agents: AgentClient[];
  store: AllocationStore;
  catalog: Catalog;
  log: Logger;
  /**
   * Operator tenants: they may publish bitstreams to everyone (what they register is published at
   * once), and through the API see and manage every tenant's allocations and set quotas (issue 16).
   */
  operators?: ReadonlySet<string>;
  /** Quotas per tenant at start (quotas.ts); absent: no limits until an operator sets some. */
  quotas?: unknown;
  bitstreamLimits?: BitstreamLimits;
  /** Operator-defined request classes (request-classes.ts, serve --request-classes). */
  requestClasses?: RequestClasses;
  /** One of several GRM replicas sharing an etcd store (replica-sync.ts); absent: the only writer. */
  replica?: ReplicaOptions;
  /**
   * Most bytes of live memory one admission may move to defragment the pool (defrag.ts; default
   * DEFAULT_DEFRAG_BUDGET_BYTES, 1 GiB; 0: never move).
   */
  defragBudgetBytes?: number;
}

export interface GrmContext {
  readonly options: GrmOptions;
  readonly log: Logger;
  readonly store: AllocationStore;
  readonly catalog: Catalog;
  /** Committed allocations (the store's, as of its last write). */
  readonly allocations: Map<string, StoredAllocation>;
  /** Allocations between plan and commit: their slices are held in the index. */
  readonly configuring: Set<string>;
  readonly pool: LivePool;
  readonly commands: AdapterCommands;
  /** Release, resize, migration commit and job scratch of one allocation, one at a time. */
  readonly locks: KeyedLock;
  /** Allocations whose memory is being copied to a reserved target slice. */
  readonly moving: Set<string>;
  /** Index labels of job scratch slices in use (not strays). */
  readonly scratch: Set<string>;
  /** Jobs running per allocation: work in flight is use, whatever the counters say yet. */
  readonly jobsRunning: Map<string, number>;
  /** When each allocation's last job returned (Date.now() ms): its result is use too. */
  readonly jobsEndedMs: Map<string, number>;
  /** Recent allocation events for the dashboard (events.ts); recording never fails an operation. */
  readonly events: GrmEventLog;
  /** What the GRM did, counted for /metrics (metrics.ts); counting never fails an operation. */
  readonly metrics: GrmMetrics;
  /** Tenants' quotas and what they hold, reservations included (quotas.ts, issue 16). */
  readonly quotas: QuotaBook;
}

export const notFound = (id: string): RaError =>
  new RaError(GrmCode.NOT_FOUND, `allocation ${id} does not exist`);

// Neither the owner key nor the stored windows of its grants (grants.ts) are part of what clients see.
export const publicView = ({ ownerKey: _k, windows: _w, ...a }: StoredAllocation): Allocation => a;

export function owned(ctx: GrmContext, tenant: string, id: string): StoredAllocation {
  const a = typeof id === 'string' ? ctx.allocations.get(id) : undefined;
  if (!a || a.tenant !== tenant) throw notFound(id); // another tenant's allocation does not exist for you
  return a;
}

/**
 * The tenant's allocation, refused when it is lost: its placements may name slices another
 * allocation holds by now, so only GET and DELETE may touch it.
 */
export function usable(ctx: GrmContext, tenant: string, id: string): StoredAllocation {
  const a = owned(ctx, tenant, id);
  if (a.state === 'lost') {
    throw new RaError(
      GrmCode.ALLOCATION_LOST,
      `allocation ${id} is lost (an adapter it used failed): it can only be read or released (DELETE); allocate anew`,
    );
  }
  return a;
}

export function unavailable(f: PlanFailure, readable: (m: string) => string = (m) => m): RaError {
  return new RaError(GrmCode.RESOURCE_UNAVAILABLE, readable(f.details.message), {
    resource: f.details.resourceIndex,
    why: f.details.why,
    skipped: f.details.skipped,
  });
}

/** The length a planned slice is programmed with when the caller programs it as planned. */
export const plannedLength = (p: PlannedSlice): number => p.length;

/**
 * A planned slice as the allocation reports it: what the adapter holds once programmed (ra-spec §5),
 * its length in the slice table (memory rounded up to the adapter's alignment, a logic slice's
 * contexts as programmed: `lengthOf`, when the caller programs fewer than planned), never the amount
 * of the request it carries (the resource keeps that).
 *
 * The length comes as a function, not a number: `placements.map(toPublicPlacement)` would pass the
 * element's index as the length (a placement once reported `contexts: 0` so). The type refuses that
 * call, and a caller without types gets a TypeError instead of a wrong placement.
 */
export function toPublicPlacement(
  p: PlannedSlice,
  lengthOf: (p: PlannedSlice) => number = plannedLength,
): Placement {
  if (typeof lengthOf !== 'function') {
    throw new TypeError(
      `toPublicPlacement: lengthOf must be a function (PlannedSlice) => number, got ${typeof lengthOf}; ` +
        'call it as placements.map((p) => toPublicPlacement(p)), not placements.map(toPublicPlacement)',
    );
  }
  const length = lengthOf(p);
  return {
    adapter: p.adapter,
    slice: p.entry,
    ...(p.kind === 'memory' ? { offset: p.base, bytes: length } : {}),
    ...(p.kind === 'compute' ? { units: length } : {}),
    ...(p.kind === 'context' ? { slot: p.slot!, context: p.base, contexts: length } : {}),
  };
}

/** What the plan granted a resource beyond its slices: the firstAvailable choice, watched adapters. */
export interface Granted {
  alternative?: number;
  monitors?: string[];
}

export function resourceOf(
  r: ResourceRequest,
  placements: PlannedSlice[],
  granted: Granted = {},
  lengthOf: (p: PlannedSlice) => number = plannedLength,
): AllocatedResource {
  const alternative = r.kind === 'firstAvailable' ? (granted.alternative ?? 0) : undefined;
  const chosen = r.kind === 'firstAvailable' ? r.alternatives[alternative!]! : r;
  const total = (kind: PlannedSlice['kind']) =>
    placements.filter((p) => p.kind === kind).reduce((n, p) => n + lengthOf(p), 0);
  return {
    kind: chosen.kind,
    ...(chosen.kind === 'accelerator' ? { function: chosen.function } : {}),
    ...(chosen.kind === 'logic' ? { bitstream: chosen.bitstream } : {}),
    ...(chosen.kind === 'memory' ? { bytes: chosen.bytes } : {}),
    ...(chosen.kind === 'compute' ? { units: chosen.units } : {}),
    // A whole adapter: what its slices hold (watching holds none).
    ...(chosen.kind === 'adapter' && !granted.monitors
      ? { bytes: total('memory'), units: total('compute') }
      : {}),
    ...(alternative !== undefined ? { alternative } : {}),
    placements: placements.map((p) => toPublicPlacement(p, lengthOf)),
    ...(granted.monitors ? { monitors: [...granted.monitors] } : {}),
  };
}

/** Every adapter an allocation has a slice on. */
export const adaptersOf = (a: StoredAllocation): string[] => [
  ...new Set(a.resources.flatMap((r) => r.placements.map((p) => p.adapter))),
];
