// What reallocation did to each allocation, kept for its tenant to read (GET
// /v1/allocations/{id}/events): grew, shrank, preempted (shrunk or reclaimed for a higher priority),
// reclaimed, lost, migrated (defragmentation). A bounded ring per allocation and a bound on allocations, so a long-running GRM keeps
// a fixed amount: the oldest records go first. In memory: a restarted GRM starts with none.

/** Every reallocation action, once: the metrics' labels and the API's enum are this list. */
export const allocationEventActions = [
  'grew',
  'shrank',
  'preempted-shrink',
  'preempted-reclaim',
  'lease-expired',
  'idle-reclaimed',
  'adapter-lost',
  'replaced',
  /** A memory slice moved by DMA to defragment the pool (src/grm/defrag.ts); its grants were revoked. */
  'migrated',
] as const;

export type AllocationEventAction = (typeof allocationEventActions)[number];

export interface AllocationEvent {
  /** ISO 8601. */
  at: string;
  action: AllocationEventAction;
  detail: string;
  /** The resource it touched (index into resources), and its size before and after. */
  resource?: number;
  from?: number;
  to?: number;
}

export const EVENTS_PER_ALLOCATION = 64;
export const ALLOCATIONS_WITH_EVENTS = 10_000;

export class AllocationEvents {
  private readonly byAllocation = new Map<string, { tenant: string; events: AllocationEvent[] }>();

  /** `onRecord` sees every event as it is recorded (the GRM counts them for /metrics). */
  constructor(private readonly onRecord: (event: AllocationEvent) => void = () => {}) {}

  /** Kept under the allocation's tenant, readable by it after the allocation is gone (reclaimed). */
  record(allocation: string, tenant: string, event: AllocationEvent): void {
    let ring = this.byAllocation.get(allocation)?.events;
    if (!ring) {
      if (this.byAllocation.size >= ALLOCATIONS_WITH_EVENTS) {
        const oldest = this.byAllocation.keys().next().value as string;
        this.byAllocation.delete(oldest);
      }
      ring = [];
      this.byAllocation.set(allocation, { tenant, events: ring });
    }
    ring.push(event);
    if (ring.length > EVENTS_PER_ALLOCATION) ring.shift();
    this.onRecord(event);
  }

  /** Oldest first; [] for an allocation with none. */
  of(allocation: string): AllocationEvent[] {
    return [...(this.byAllocation.get(allocation)?.events ?? [])];
  }

  /** Whether `tenant` has events of `allocation` (one it held, perhaps released since). */
  heldBy(allocation: string, tenant: string): boolean {
    return this.byAllocation.get(allocation)?.tenant === tenant;
  }
}
