// Issue 8 item 9: idle reclaim must not take an allocation whose job is running. Work in flight is
// use: with idleReclaimMs far below the job's run time and reallocation passes running throughout,
// the job completes with the right result and the allocation stays; once the job has ended and the
// idle period has passed, the same loop reclaims it (its slices gone from the adapters' registers).
import { describe, expect, it } from 'vitest';
import { reallocateOnce } from '../../src/grm/reallocator.js';
import { Prng } from '../helpers/prng.js';
import { MiB, readSliceTables, useEmbedded } from './helpers.js';

/** C[i][j] accumulated in f32 in increasing k (ra-spec §12), as the engine must compute it. */
function entry(a: Float32Array, b: Float32Array, n: number, k: number, i: number, j: number): number {
  let acc = 0;
  for (let p = 0; p < k; p++) acc = Math.fround(acc + Math.fround(a[i * k + p]! * b[p * n + j]!));
  return acc;
}

describe('idle reclaim and jobs in flight', () => {
  const ctx = useEmbedded(2, 256 * MiB);
  const grm = () => ctx.pool.grm;
  const pass = () => grm().exclusive(() => reallocateOnce(grm()));

  it('keeps an allocation whose long matmul is running, and reclaims it once idle after the job', async () => {
    const idleReclaimMs = 300;
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'compute', units: 1 }],
      policy: { idleReclaimMs },
    });
    const [m, n, k] = [2048, 2048, 1024];
    const rng = new Prng(9);
    const A = Float32Array.from({ length: m * k }, () => rng.next() * 2 - 1);
    const B = Float32Array.from({ length: k * n }, () => rng.next() * 2 - 1);
    const input = Buffer.concat([Buffer.from(A.buffer), Buffer.from(B.buffer)]).toString('base64');

    let done = false;
    const t0 = performance.now();
    const job = grm()
      .runJob('alice', a.id, { function: 'matmul-f32', params: { m, n, k }, input })
      .finally(() => {
        done = true;
      });
    // Reallocation passes all through the job, each well past the idle limit since creation.
    let passes = 0;
    while (!done) {
      await new Promise((r) => setTimeout(r, idleReclaimMs / 2));
      const events = await pass();
      passes++;
      expect(events.filter((e) => e.allocation === a.id)).toEqual([]);
    }
    const jobMs = performance.now() - t0;
    const { output } = await job;
    // Right after the job: just used, so kept.
    expect((await pass()).filter((e) => e.allocation === a.id)).toEqual([]);
    expect(jobMs).toBeGreaterThan(2 * idleReclaimMs); // the job ran longer than the idle limit
    expect(passes).toBeGreaterThan(2);
    const C = new Float32Array(new Uint8Array(Buffer.from(output, 'base64')).buffer);
    expect(C.length).toBe(m * n);
    for (let s = 0; s < 64; s++) {
      const i = rng.int(0, m - 1);
      const j = rng.int(0, n - 1);
      expect(C[i * n + j]).toBe(entry(A, B, n, k, i, j));
    }
    expect(grm().get('alice', a.id).state).toBe('active');

    // After the idle period: reclaimed, and its slice is gone from the registers.
    await new Promise((r) => setTimeout(r, idleReclaimMs + 100));
    expect(await pass()).toContainEqual(
      expect.objectContaining({ allocation: a.id, action: 'idle-reclaimed' }),
    );
    expect(grm().list('alice')).toEqual([]);
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual([]);
  });
});
