// Restart reconciliation: the store is the truth for allocations, the registers for devices.
// Every difference is repaired and reported (DESIGN "Boundaries that matter").
import type { Grm } from './grm.js';

export interface Difference {
  kind: 'rolled-back-intent' | 'orphan-slice' | 'stray-slice' | 'lost-allocation';
  adapter?: string;
  entry?: number;
  allocation?: string;
  message: string;
}

export async function reconcile(grm: Grm): Promise<Difference[]> {
  const store = grm.store;
  const { intents } = store.load();
  const pool = await grm.readPool();
  const byKey = grm.keyIndex();
  const intentByKey = new Map([...intents.values()].map((i) => [i.ownerKey, i]));
  const diffs: Difference[] = [];
  const present = new Set<string>();

  for (const a of pool.adapters) {
    for (const s of a.slices) {
      const allocationId = byKey.get(s.ownerKey);
      const allocation = allocationId ? grm.allocations.get(allocationId) : undefined;
      const expected = allocation?.resources.some((r) =>
        r.placements.some((p) => p.adapter === a.id && p.slice === s.entry),
      );
      if (allocation && expected) {
        present.add(`${a.id}#${s.entry}`);
        continue;
      }
      const intent = intentByKey.get(s.ownerKey);
      const diff: Difference = intent
        ? {
            kind: 'rolled-back-intent',
            adapter: a.id,
            entry: s.entry,
            allocation: intent.id,
            message: `slice ${a.id}#${s.entry} belonged to allocation ${intent.id}, which never committed: released`,
          }
        : allocation
          ? {
              kind: 'stray-slice',
              adapter: a.id,
              entry: s.entry,
              allocation: allocation.id,
              message: `slice ${a.id}#${s.entry} has the key of ${allocation.id} but is not one of its placements (job scratch or interrupted migration): released`,
            }
          : {
              kind: 'orphan-slice',
              adapter: a.id,
              entry: s.entry,
              message: `slice ${a.id}#${s.entry} has an owner key no allocation holds: released`,
            };
      await grm
        .agentFor(a.id)
        .call('release', { adapter: a.id, entry: s.entry, ownerKey: s.ownerKey })
        .catch((e: Error) => (diff.message += ` (release failed: ${e.message})`));
      diffs.push(diff);
    }
  }
  for (const i of intents.values()) await store.abortIntent(i.id);

  for (const a of [...grm.allocations.values()]) {
    const missing = a.resources
      .flatMap((r) => r.placements)
      .filter((p) => !present.has(`${p.adapter}#${p.slice}`));
    if (missing.length === 0 || a.state === 'lost') continue;
    const lost = { ...a, state: 'lost' as const };
    await store.update(lost);
    grm.allocations.set(a.id, lost);
    diffs.push({
      kind: 'lost-allocation',
      allocation: a.id,
      message: `allocation ${a.id} lost ${missing.length} slice(s) (${missing.map((p) => `${p.adapter}#${p.slice}`).join(', ')}): marked lost`,
    });
  }
  for (const d of diffs) grm.log.warn({ ...d }, `reconcile: ${d.message}`);
  grm.log.info({ differences: diffs.length }, 'reconciled store with adapters');
  return diffs;
}
