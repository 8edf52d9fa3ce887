// A job runs without its allocation's lock, so the tenant may release the allocation while the job
// runs. The release takes the engine away and the adapter refuses the job's descriptors; that used to
// come back as 502 SLICE_STATE ("adapter failure", logged as a server error: found from outside). It
// is a 409 CONFLICT naming the release now, and the release leaves nothing behind (registers).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MiB, readSliceTables, useEmbedded } from './helpers.js';

describe('a job whose allocation is released while it runs', () => {
  const ctx = useEmbedded(1, 256 * MiB);

  it('fails with CONFLICT naming the release, and the adapter holds no slice afterwards', async () => {
    const grm = ctx.pool.grm;
    const a = await grm.allocate('alice', { resources: [{ kind: 'accelerator', function: 'sha256' }] });
    const slicesBefore = readSliceTables(ctx.pool.modelDir, 1).length;
    const job = grm.runJob('alice', a.id, {
      function: 'sha256',
      input: randomBytes(24 * MiB).toString('base64'),
    });
    const outcome = job.then(
      () => undefined,
      (err: { code?: string; message: string }) => err,
    );
    // The job's scratch slice in the registers: the job has its input staged and is going to the engine.
    const deadline = Date.now() + 20_000;
    while (readSliceTables(ctx.pool.modelDir, 1).length === slicesBefore) {
      if (Date.now() > deadline) throw new Error('the job never programmed its scratch slice');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await grm.release('alice', a.id);
    const err = await outcome;
    expect(err, 'the job finished before the release: the test did not race it').toBeDefined();
    expect(err?.code).toBe('CONFLICT');
    expect(err?.message).toMatch(new RegExp(`allocation ${a.id} was released while its sha256 job ran`));
    // The scratch slice goes once the job's failure has come back.
    await expect.poll(() => readSliceTables(ctx.pool.modelDir, 1), { timeout: 10_000 }).toEqual([]);
  }, 60_000);
});
