// Keeping one GRM replica's in-memory view current with the others' commits (docs/cluster.md, "GRM
// replicas"). The etcd store follows etcd (EtcdStore.watch) and tells this module every change another
// replica made; here it reaches the GRM's view: committed allocations, the intents in flight (so
// reconciliation takes their slices as in flight, not as orphans) and the owner keys that attribute slices
// read from the registers. The live index learns the slices themselves from the registers (the truth for
// devices): a change schedules a re-read of the slice tables, coalesced while one is running.
//
// What keeps two replicas from granting one slice twice is not this view (it may lag by a watch round
// trip) but the adapters: a slice overlapping one another replica programmed is refused by the device
// (ra-spec §6, ERR_OVERLAP), configure() rolls the allocation back, and Grm.allocate plans again on a
// re-read index. Store writes compare revisions (STALE_REVISION), so a stale view never overwrites.
import type { Intent, StoredAllocation } from '../store/store.js';
import type { GrmContext } from './context.js';

/** One record another replica changed (value undefined: removed); see EtcdStore's StoreChange. */
export type ReplicaChange =
  | { kind: 'allocation'; id: string; value: StoredAllocation | undefined }
  | { kind: 'intent'; id: string; value: Intent | undefined };

/** How a replica treats what it shares with the others. */
export interface ReplicaOptions {
  /**
   * An intent younger than this (by its createdAt) is another replica's allocation configuring: its
   * slices are in flight. Older, its replica is taken as dead and reconciliation rolls it back (aborting
   * the intent first, so a replica that wakes up cannot commit it). Replicas' clocks must agree to well
   * within this bound.
   */
  intentInFlightMs: number;
  /**
   * Called by a reconciliation pass after it read the registers, before it judges any slice: brings the
   * view up to date with etcd (every intent recorded before a slice was programmed is then known) and
   * says whether this replica still leads (false: the pass changes nothing).
   */
  barrier(): Promise<boolean>;
}

/** Applies another replica's change to the GRM's view; `intents` is the map reconciliation consults. */
export function applyReplicaChange(
  ctx: GrmContext,
  intents: Map<string, Intent>,
  change: ReplicaChange,
): void {
  if (change.kind === 'intent') {
    // This replica's own intent, heard before its transaction answered: it is configuring it itself.
    if (ctx.configuring.has(change.id)) return;
    if (change.value) {
      intents.set(change.id, change.value);
      ctx.pool.own(change.value.ownerKey, change.id);
    } else intents.delete(change.id);
    return;
  }
  if (change.value) {
    ctx.allocations.set(change.id, change.value);
    ctx.pool.own(change.value.ownerKey, change.id);
    intents.delete(change.id);
  } else {
    ctx.allocations.delete(change.id);
    ctx.jobsEndedMs.delete(change.id);
  }
}

/** Whether an intent is still some replica's allocation configuring (see ReplicaOptions.intentInFlightMs). */
export function intentInFlight(
  replica: ReplicaOptions | undefined,
  intent: Intent,
  nowMs = Date.now(),
): boolean {
  if (!replica) return false; // one writer: an intent found at start is never in flight
  const createdMs = Date.parse(intent.createdAt);
  return Number.isFinite(createdMs) && nowMs - createdMs < replica.intentInFlightMs;
}

/**
 * Runs `reindex` again after each request, one at a time: requests that arrive while one runs are served
 * by one more run after it (a change seen during a read may not be in that read).
 */
export function coalesced(reindex: () => Promise<unknown>, onError: (err: Error) => void): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    running = true;
    again = false;
    reindex()
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) run();
      });
  };
  return () => {
    if (running) again = true;
    else run();
  };
}
