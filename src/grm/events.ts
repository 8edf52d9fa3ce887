// The GRM's recent events — allocated, released, resized, migrated, reclaimed, lost, replaced — in a
// bounded ring (the oldest fall off), for the dashboard's event log and its live stream. It is a view
// of what happened, not a record of truth: the store holds the allocations, the registers the devices.
// Readers get copies and may subscribe; only the GRM's own modules record.

export type GrmEventKind =
  | 'allocated'
  | 'released'
  | 'resized'
  | 'migrated'
  | 'reclaimed'
  | 'lost'
  | 'replaced';

export interface GrmEvent {
  /** 1, 2, 3, ... in the order recorded (a reader can tell which ones it has seen). */
  seq: number;
  /** When it was recorded (ISO 8601). */
  at: string;
  kind: GrmEventKind;
  allocation: string;
  tenant: string;
  /** Adapters the allocation holds slices on after the event (before it, for a release). */
  adapters: string[];
  /** Why (a reclaim's reason) or what (a resize's new size), in words. */
  detail: string;
}

export type GrmEventInput = Omit<GrmEvent, 'seq' | 'at'>;

/** What the API may do with the log: read it and follow it, never write. */
export interface GrmEventFeed {
  /** The events still in the ring, oldest first. */
  recent(): GrmEvent[];
  /** Calls `listener` with each event recorded from now on; returns the function that stops it. */
  subscribe(listener: (event: GrmEvent) => void): () => void;
}

/** Enough for a few minutes of a busy pool's reallocation history in a dashboard. */
export const DEFAULT_EVENT_CAPACITY = 500;

/**
 * An event as the ring keeps it: the time as a number, made ISO 8601 only when someone reads it (a busy
 * pool records two events per allocate + free, and most are overwritten unread).
 */
type KeptEvent = Omit<GrmEvent, 'at'> & { atMs: number };

function published({ atMs, ...event }: KeptEvent): GrmEvent {
  return { ...event, at: new Date(atMs).toISOString(), adapters: [...event.adapters] };
}

export class GrmEventLog implements GrmEventFeed {
  /** A circular buffer: the oldest event is overwritten in place (no shift of the whole array per event). */
  private readonly ring: KeptEvent[] = [];
  /** Where the next event goes once the ring is full (then also where the oldest one is). */
  private head = 0;
  private next = 1;
  private readonly listeners = new Set<(event: GrmEvent) => void>();

  constructor(private readonly capacity = DEFAULT_EVENT_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`GrmEventLog: capacity must be a positive integer, got ${capacity}`);
    }
  }

  record(input: GrmEventInput): void {
    const kept: KeptEvent = { seq: this.next++, atMs: Date.now(), ...input };
    if (this.ring.length < this.capacity) this.ring.push(kept);
    else {
      this.ring[this.head] = kept;
      this.head = (this.head + 1) % this.capacity;
    }
    for (const listener of this.listeners) {
      try {
        listener(published(kept));
      } catch {
        // A reader's failure must not fail the allocation that recorded the event.
      }
    }
  }

  recent(): GrmEvent[] {
    const oldestFirst = [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
    return oldestFirst.map(published);
  }

  subscribe(listener: (event: GrmEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
