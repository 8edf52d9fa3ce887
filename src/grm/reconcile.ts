// Reconciliation: the store is the truth for allocations, the registers for devices (DESIGN
// "Boundaries that matter"). A pass reads the agents' slice tables, re-indexes every adapter that had
// no operation in flight, and repairs and reports every difference: slices of an intent a crash left,
// slices with a key no allocation holds and slices with an allocation's key outside its placements are
// released; an allocation whose slice vanished is marked lost. Tenant windows (ra-spec §18) that no
// allocation's recorded grants name are closed first (docs/access.md): a window whose allocation is
// gone would otherwise hold its adapter queue until the adapter is reset. Slices held by reservations (allocations,
// resizes and migrations configuring) and running jobs' scratch slices are in flight, not differences.
// It runs at start, in the background beside allocation, and notices agents that answer again.
import {
  type CheckedSlice,
  type CheckedWindow,
  type MaintainedGrm,
  type Maintenance,
  startPeriodicPass,
} from './maintenance.js';

export interface Difference {
  kind: 'rolled-back-intent' | 'orphan-slice' | 'stray-slice' | 'lost-allocation' | 'orphan-window';
  adapter?: string;
  entry?: number;
  /** orphan-window: the window index on the adapter */
  window?: number;
  allocation?: string;
  message: string;
}

function windowDifferenceOf(w: CheckedWindow): Difference | undefined {
  const at = `tenant window ${w.adapter}.tw${w.window} (queue ${w.queue})`;
  const where = { adapter: w.adapter, window: w.window };
  switch (w.owner.kind) {
    case 'granted':
    case 'in-flight':
      return undefined;
    case 'unrecorded':
      return {
        kind: 'orphan-window',
        ...where,
        allocation: w.owner.allocation,
        message: `${at} has the key of ${w.owner.allocation}, whose recorded grants do not name it: closed`,
      };
    case 'orphan':
      return {
        kind: 'orphan-window',
        ...where,
        message: w.ownerKey
          ? `${at} has an owner key no allocation holds: closed`
          : `${at} was opened with a key the agent does not know (not by this version); reset the adapter to close it`,
      };
  }
}

function differenceOf(s: CheckedSlice): Difference | undefined {
  const at = `slice ${s.adapter}#${s.entry}`;
  const where = { adapter: s.adapter, entry: s.entry };
  switch (s.owner.kind) {
    case 'placement':
    case 'in-flight':
      return undefined;
    case 'intent':
      return {
        kind: 'rolled-back-intent',
        ...where,
        allocation: s.owner.allocation,
        message: `${at} belonged to allocation ${s.owner.allocation}, which never committed: released`,
      };
    case 'stray':
      return {
        kind: 'stray-slice',
        ...where,
        allocation: s.owner.allocation,
        message: `${at} has the key of ${s.owner.allocation} but is not one of its placements (job scratch or interrupted migration): released`,
      };
    case 'orphan':
      return {
        kind: 'orphan-slice',
        ...where,
        message: `${at} has an owner key no allocation holds: released`,
      };
  }
}

export async function reconcile(grm: { maintenance: Maintenance }): Promise<Difference[]> {
  const m = grm.maintenance;
  const check = await m.checkRegisters();
  for (const server of check.reconnected)
    m.log.warn({ server }, 'agent answers again: its adapters were compared with the index');
  // Intents first, slices after: with several replicas, an intent's replica may wake up and commit it; once
  // the intent is aborted (compare-and-swap) it cannot, so its slices are safe to release. An intent that
  // could not be aborted (committed meanwhile, etcd out of reach) keeps its slices for the next pass.
  const dropped = new Set<string>();
  for (const i of m.staleIntents()) {
    try {
      await m.dropIntent(i.id);
      dropped.add(i.id);
    } catch (err) {
      m.log.warn({ allocation: i.id, err: (err as Error).message }, 'reconcile: intent not rolled back yet');
    }
  }
  const diffs: Difference[] = [];
  // Windows before slices: a slice's windows are closed before it is released (ra-spec §18.6).
  for (const w of await m.checkWindows(check.adapters)) {
    const diff = windowDifferenceOf(w);
    if (!diff) continue;
    if (w.ownerKey)
      await m.closeWindow(w).catch((e: Error) => (diff.message += ` (close failed: ${e.message})`));
    diffs.push(diff);
  }
  for (const s of check.slices) {
    if (s.owner.kind === 'intent' && !dropped.has(s.owner.allocation)) continue;
    const diff = differenceOf(s);
    if (!diff) continue;
    await m.releaseSlice(s).catch((e: Error) => (diff.message += ` (release failed: ${e.message})`));
    diffs.push(diff);
  }

  for (const { allocation, placements } of check.missing) {
    const marked = await m.withAllocation(allocation.id, async (a) => {
      // Changed since the check (released, resized, migrated): the next pass looks again.
      if (a !== allocation) return false;
      await m.markLost(a);
      return true;
    });
    if (!marked) continue;
    diffs.push({
      kind: 'lost-allocation',
      allocation: allocation.id,
      message: `allocation ${allocation.id} lost ${placements.length} slice(s) (${placements.map((p) => `${p.adapter}#${p.slice}`).join(', ')}): marked lost`,
    });
  }
  for (const d of diffs) m.log.warn({ ...d }, `reconcile: ${d.message}`);
  // A quiet background pass is not news; a difference is.
  m.log[diffs.length > 0 ? 'info' : 'debug'](
    { differences: diffs.length, adapters: check.adapters.length },
    'reconciled store and index with the adapters',
  );
  return diffs;
}

/** Runs a reconciliation pass every `intervalMs` (one at a time, beside allocation) until stop(). */
export function startReconciler(grm: MaintainedGrm, intervalMs: number): () => void {
  return startPeriodicPass(grm, 'reconciliation pass', () => reconcile(grm), intervalMs);
}
