// Issue 11 item 2: 64 clients allocate and free a mixed, seeded stream concurrently on one GRM (plans
// reserve in the live index, adapters configure in parallel) while reconciliation passes run beside
// them. The judge is the adapters' slice tables read through the driver, not the GRM: no two slices
// overlap, every acknowledged allocation that was not freed has its slices there with its owner key
// and placement, nothing else is left, and reconciliation found no difference along the way.
import { describe, expect, it } from 'vitest';
import { reconcile } from '../../src/grm/reconcile.js';
import type { Allocation } from '../../src/grm/types.js';
import { Prng } from '../helpers/prng.js';
import { MiB, overlaps, readSliceTables, useEmbedded } from './helpers.js';

const ADAPTERS = 8;
const CLIENTS = 64;
const STEPS_PER_CLIENT = 12;

const requests = [
  [{ kind: 'memory', bytes: 3 * MiB }],
  [{ kind: 'memory', bytes: 40 * MiB }],
  [{ kind: 'memory', bytes: 300 * MiB }], // more than one adapter holds: spread over several
  [{ kind: 'compute', units: 1 }],
  [{ kind: 'compute', units: 5 }],
  [{ kind: 'accelerator', function: 'crc32c' }],
  [{ kind: 'accelerator', function: 'sha256' }],
  [
    { kind: 'memory', bytes: 16 * MiB },
    { kind: 'accelerator', function: 'aes-256-gcm' },
    { kind: 'compute', units: 2 },
  ],
];

describe('64 concurrent clients', () => {
  const ctx = useEmbedded(ADAPTERS, 256 * MiB);
  const grm = () => ctx.pool.grm;
  const tables = () => readSliceTables(ctx.pool.modelDir, ADAPTERS);
  const port = (adapter: string) => Number(adapter.slice(adapter.lastIndexOf('/ra') + 3));

  it('allocate and free a mixed stream: registers show no overlap, no leak, every kept allocation whole', async () => {
    const kept = new Map<string, { allocation: Allocation; ownerKey: string }>();
    const counts = { created: 0, refused: 0, freed: 0 };
    const differences: string[] = [];
    const problems: string[] = [];
    let stop = false;
    // Reconciliation and an overlap watcher run beside the clients the whole time.
    const beside = (async () => {
      while (!stop) {
        const diffs = await grm().exclusive(() => reconcile(grm()));
        differences.push(...diffs.map((d) => d.message));
        problems.push(...overlaps(tables()));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    // The watcher stops even when a client fails: left running, it would read the adapters after
    // the pool stopped and hide the failure behind a closed socket.
    const clients = Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const rng = new Prng(1100 + c);
        const tenant = `tenant${c % 8}`;
        const mine: Allocation[] = [];
        for (let step = 0; step < STEPS_PER_CLIENT; step++) {
          if (mine.length > 0 && rng.chance(0.45)) {
            const a = mine.splice(rng.int(0, mine.length - 1), 1)[0]!;
            await grm().release(tenant, a.id);
            counts.freed++;
            continue;
          }
          try {
            const a = await grm().allocate(tenant, { resources: rng.pick(requests) });
            mine.push(a);
            counts.created++;
          } catch (err) {
            expect((err as { code?: string }).code, (err as Error).message).toBe('RESOURCE_UNAVAILABLE');
            counts.refused++;
          }
        }
        for (const a of mine)
          kept.set(a.id, { allocation: a, ownerKey: grm().allocations.get(a.id)!.ownerKey });
      }),
    );
    try {
      await clients;
    } finally {
      stop = true;
      await beside;
    }
    expect(problems).toEqual([]);
    expect(differences).toEqual([]);
    expect(counts.created).toBeGreaterThan(200);
    expect(kept.size).toBeGreaterThan(10);

    const slices = tables();
    expect(overlaps(slices)).toEqual([]);
    // Every kept allocation's placements are on the adapters, with its owner key, where it was told.
    const expected = new Set<string>();
    for (const { allocation, ownerKey } of kept.values()) {
      for (const r of allocation.resources) {
        for (const p of r.placements) {
          const key = `ra${port(p.adapter)}#${p.slice}`;
          expected.add(key);
          const s = slices.find((x) => x.adapter === port(p.adapter) && x.entry === p.slice);
          expect(s, `${allocation.id}: ${key}`).toBeDefined();
          expect(s!.ownerKey).toBe(BigInt(`0x${ownerKey}`));
          expect(s!.state).toBe('active');
          if (r.kind === 'memory') {
            expect(s!).toMatchObject({ kind: 'memory', base: p.offset });
            expect(s!.length).toBeGreaterThanOrEqual(p.bytes!);
          } else if (r.kind === 'compute') expect(s!).toMatchObject({ kind: 'compute', length: p.units });
          else
            expect(s!).toMatchObject({ kind: 'context', slot: p.slot, base: p.context, length: p.contexts });
        }
      }
    }
    // ... and nothing else: every freed or refused allocation left nothing behind.
    expect(slices.map((s) => `ra${s.adapter}#${s.entry}`).sort()).toEqual([...expected].sort());

    for (const { allocation } of kept.values()) await grm().release(allocation.tenant, allocation.id);
    expect(tables()).toEqual([]);
    expect(await grm().exclusive(() => reconcile(grm()))).toEqual([]);
  });
});
