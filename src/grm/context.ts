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
  /** Tenants that may publish bitstreams to everyone; what they register is published at once. */
  operators?: ReadonlySet<string>;
  bitstreamLimits?: BitstreamLimits;
  /** Operator-defined request classes (request-classes.ts, serve --request-classes). */
  requestClasses?: RequestClasses;
  /** One of several GRM replicas sharing an etcd store (replica-sync.ts); absent: the only writer. */
  replica?: ReplicaOptions;
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
}

export const notFound = (id: string): RaError =>
  new RaError(GrmCode.NOT_FOUND, `allocation ${id} does not exist`);

export const publicView = ({ ownerKey: _k, ...a }: StoredAllocation): Allocation => a;

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

export function toPublicPlacement(p: PlannedSlice): Placement {
  return {
    adapter: p.adapter,
    slice: p.entry,
    ...(p.kind === 'memory' ? { offset: p.base, bytes: p.bytes ?? p.length } : {}),
    ...(p.kind === 'compute' ? { units: p.units ?? p.length } : {}),
    ...(p.kind === 'context' ? { slot: p.slot!, context: p.base, contexts: p.length } : {}),
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
): AllocatedResource {
  const alternative = r.kind === 'firstAvailable' ? (granted.alternative ?? 0) : undefined;
  const chosen = r.kind === 'firstAvailable' ? r.alternatives[alternative!]! : r;
  const total = (kind: PlannedSlice['kind']) =>
    placements.filter((p) => p.kind === kind).reduce((n, p) => n + (p.bytes ?? p.units ?? p.length), 0);
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
    placements: placements.map(toPublicPlacement),
    ...(granted.monitors ? { monitors: [...granted.monitors] } : {}),
  };
}

/** Every adapter an allocation has a slice on. */
export const adaptersOf = (a: StoredAllocation): string[] => [
  ...new Set(a.resources.flatMap((r) => r.placements.map((p) => p.adapter))),
];
