// 64 concurrent HTTP clients allocating and freeing: no overlapping slices and no leaked capacity,
// checked by reading the adapters' slice tables through the driver, not by trusting the GRM.
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { MiB, overlaps, readSliceTables, useEmbedded } from './helpers.js';

describe('concurrency', () => {
  const ctx = useEmbedded(3, 256 * MiB);

  it('64 clients allocate and free for a while; the slice tables never overlap and end empty', async () => {
    const tokens = new Map(Array.from({ length: 8 }, (_, i) => [`token-tenant-${i}`, `tenant${i}`]));
    const api = createApiServer(ctx.pool.grm, { tokens, logger: false });
    await api.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    const kinds = [
      { kind: 'memory', bytes: 24 * MiB },
      { kind: 'memory', bytes: 100 * MiB },
      { kind: 'compute', units: 3 },
      { kind: 'accelerator', function: 'crc32c' },
      { kind: 'accelerator', function: 'sha256' },
    ];
    const counts = { created: 0, refused: 0, freed: 0 };
    const problems: string[] = [];
    let stop = false;
    const watcher = (async () => {
      while (!stop) {
        problems.push(...overlaps(readSliceTables(ctx.pool.modelDir, 3)));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await Promise.all(
      Array.from({ length: 64 }, async (_, c) => {
        const auth = { authorization: `Bearer token-tenant-${c % 8}`, 'content-type': 'application/json' };
        for (let i = 0; i < 6; i++) {
          const res = await fetch(`${url}/v1/allocations`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({ resources: [kinds[(c + i) % kinds.length]] }),
          });
          if (res.status === 409) {
            counts.refused++;
            await res.text();
            continue;
          }
          expect(res.status).toBe(201);
          const { id } = (await res.json()) as { id: string };
          counts.created++;
          const del = await fetch(`${url}/v1/allocations/${id}`, {
            method: 'DELETE',
            headers: { authorization: auth.authorization },
          });
          expect(del.status).toBe(204);
          counts.freed++;
        }
      }),
    );
    stop = true;
    await watcher;
    await api.close();
    expect(problems).toEqual([]);
    expect(counts.created).toBeGreaterThan(100);
    expect(counts.freed).toBe(counts.created);
    expect(readSliceTables(ctx.pool.modelDir, 3)).toEqual([]);
    const adapters = await ctx.pool.grm.listAdapters();
    for (const a of adapters) {
      expect(a.memory.free).toBe(a.memory.total);
      expect(a.computeUnits.free).toBe(a.computeUnits.total);
    }
  });
});
