// The pool as the dashboard draws it: every adapter's slots and slices (placements: start and size),
// each slice attributed to its allocation and tenant, with the utilization counters of ra-spec §10.
// Read from the registers through the agents (DESIGN "Boundaries": the registers are the truth for
// devices), attributed through the store's allocations. Who may see what is the API's business.
import type { AgentAdapter } from '../agent/agent.js';
import type { StoredAllocation } from '../store/store.js';
import type { GrmEventFeed } from './events.js';

export interface PictureSlice {
  entry: number;
  kind: string;
  /** Memory: byte offset and bytes; compute: first unit and units; context: first context and contexts. */
  base: number;
  length: number;
  slot?: number;
  /** Absent: a slice no committed allocation holds (in flight, a job's scratch, or an orphan). */
  allocation?: string;
  tenant?: string;
  /** SLICE_BUSY_NS (ra-spec §10): DMA or engine time charged to the slice, ns. */
  busyNs: number;
}

export interface PictureSlot {
  index: number;
  state: string;
  function?: string;
  contexts: number;
  contextsUsed: number;
}

export interface PictureAdapter {
  id: string;
  server: string;
  health: AgentAdapter['health'];
  memoryBytes: number;
  computeUnits: number;
  /** The adapter's clock (REG_CLOCK_NS) when it was read: utilization is busy ns over clock ns. */
  clockNs: number;
  slots: PictureSlot[];
  slices: PictureSlice[];
}

export interface PoolPicture {
  adapters: PictureAdapter[];
  /** Committed allocations (every tenant's). */
  allocations: Omit<StoredAllocation, 'ownerKey'>[];
}

/** What the dashboard needs from a GRM beyond GrmApi (the Grm class provides it). */
export interface DashboardSource {
  picture(): Promise<PoolPicture>;
  readonly events: GrmEventFeed;
  /** Operators see every allocation; other tenants their own and the rest as "other". */
  isOperator(tenant: string): boolean;
}

export function toPicture(
  adapters: readonly AgentAdapter[],
  allocations: Iterable<StoredAllocation>,
): PoolPicture {
  const all = [...allocations];
  const byKey = new Map(all.map((a) => [a.ownerKey, a]));
  return {
    adapters: adapters.map((a) => ({
      id: a.id,
      server: a.server,
      health: a.health,
      memoryBytes: a.memoryBytes,
      computeUnits: a.computeUnits,
      clockNs: a.clockNs,
      slots: a.slots.map((s) => ({
        index: s.index,
        state: s.state,
        ...(s.function ? { function: s.function } : {}),
        contexts: s.contexts,
        contextsUsed: s.contextsUsed,
      })),
      slices: a.slices.map((s) => {
        const owner = byKey.get(s.ownerKey);
        return {
          entry: s.entry,
          kind: s.kind,
          base: s.base,
          length: s.length,
          ...(s.slot !== undefined ? { slot: s.slot } : {}),
          ...(owner ? { allocation: owner.id, tenant: owner.tenant } : {}),
          busyNs: s.busyNs,
        };
      }),
    })),
    allocations: all.map(({ ownerKey: _key, windows: _windows, ...a }) => a),
  };
}
