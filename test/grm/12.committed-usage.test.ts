// Quota checks read each tenant's committed usage from CommittedAllocations (src/grm/quotas.ts), which
// keeps the sums current on every set and delete instead of walking every allocation per request. The
// oracle: the sums recomputed from the map's entries after each step of random sets, replacements and
// deletes.
import { describe, expect, it } from 'vitest';
import type { AllocatedResource } from '../../src/common/model.js';
import { CommittedAllocations, noUsage, QuotaBook, usageOfResources } from '../../src/grm/quotas.js';
import { Prng } from '../helpers/prng.js';

interface Held {
  id: string;
  tenant: string;
  resources: AllocatedResource[];
}

function randomResources(rng: Prng): AllocatedResource[] {
  return Array.from({ length: rng.int(1, 3) }, () => {
    const placements = Array.from({ length: rng.int(1, 3) }, (_, slice) =>
      rng.chance(0.5)
        ? { adapter: `h/ra${rng.int(0, 7)}`, slice, offset: 0, bytes: rng.int(1, 64) * 2 ** 20 }
        : { adapter: `h/ra${rng.int(0, 7)}`, slice, units: rng.int(1, 4) },
    );
    return { kind: 'memory', bytes: 1, placements } as AllocatedResource;
  });
}

function recomputed(map: Map<string, Held>, tenant: string) {
  const u = noUsage();
  for (const a of map.values()) {
    if (a.tenant !== tenant) continue;
    const v = usageOfResources(a.resources);
    for (const f of Object.keys(u) as (keyof typeof u)[]) u[f] += v[f];
  }
  return u;
}

describe('committed usage kept by CommittedAllocations', () => {
  it('equals the usage recomputed from the entries after every set, replace and delete', () => {
    const rng = new Prng(11);
    const map = new CommittedAllocations<Held>();
    const tenants = ['t1', 't2', 't3'];
    for (let step = 0; step < 2000; step++) {
      const id = `a${rng.int(0, 40)}`;
      const roll = rng.next();
      if (roll < 0.5) map.set(id, { id, tenant: tenants[rng.int(0, 2)]!, resources: randomResources(rng) });
      else if (roll < 0.9) map.delete(id);
      else if (roll < 0.91) map.clear();
      else map.set(id, { ...(map.get(id) ?? { id, tenant: 't1' }), resources: randomResources(rng) });
      for (const t of tenants) expect(map.usageOf(t), `step ${step}, ${t}`).toEqual(recomputed(map, t));
      const holders = new Set([...map.values()].map((a) => a.tenant));
      expect(new Set(map.tenants())).toEqual(holders);
    }
  });

  it('a quota book over it counts what a book walking the allocations counts', () => {
    const rng = new Prng(5);
    const map = new CommittedAllocations<Held>();
    const walking = new QuotaBook(() => map.values());
    const reading = new QuotaBook(map);
    for (let i = 0; i < 50; i++) {
      const id = `a${i}`;
      map.set(id, { id, tenant: rng.chance(0.5) ? 'x' : 'y', resources: randomResources(rng) });
      if (rng.chance(0.3)) map.delete(`a${rng.int(0, i)}`);
    }
    reading.hold('x', 'k1', { bytes: 5, units: 1, contexts: 0, sliceEntries: 1, allocations: 1 });
    walking.hold('x', 'k1', { bytes: 5, units: 1, contexts: 0, sliceEntries: 1, allocations: 1 });
    expect(reading.reportAll(['z'])).toEqual(walking.reportAll(['z']));
  });
});
