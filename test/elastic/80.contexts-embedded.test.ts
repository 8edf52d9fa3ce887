// Elastic accelerator contexts on the embedded pool (issue 15, item 1: "compute units and accelerator
// contexts"): a busy crc32c resource grows by a context slice of the same engine, an idle one shrinks
// back to its min by releasing it. The contexts are counted in the adapters' slice tables under the
// allocation's owner key, not taken from the GRM's records.
import { afterEach, describe, expect, it } from 'vitest';
import { reallocateOnce } from '../../src/grm/reallocator.js';
import type { Allocation } from '../../src/grm/types.js';
import { readSliceTables, useEmbedded } from '../grm/helpers.js';
import { Prng } from '../helpers/prng.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('elastic accelerator contexts', () => {
  const ctx = useEmbedded(1);
  const grm = () => ctx.pool.grm;
  const pass = () => grm().exclusive(() => reallocateOnce(grm(), Date.now(), 'elastic'));
  /** Context slices (their lengths) holding the allocation's owner key in the registers. */
  const contextSlices = (a: Allocation) => {
    const key = BigInt(`0x${grm().allocations.get(a.id)!.ownerKey}`);
    return readSliceTables(ctx.pool.modelDir, 1)
      .filter((s) => s.kind === 'context' && s.ownerKey === key)
      .map((s) => s.length);
  };

  afterEach(async () => {
    for (const a of grm().list('alice')) await grm().release('alice', a.id);
  });

  it('grows a busy accelerator by a context slice, shrinks it back to its min when idle', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'accelerator', function: 'crc32c' }],
      policy: { elastic: { accelerator: { min: 1, max: 3, targetUtilization: 0.3, cooldownMs: 200 } } },
    });
    expect(contextSlices(a)).toEqual([1]);
    await pass(); // the window's start
    const rng = new Prng(80);
    const input = Buffer.from(Uint8Array.from({ length: 1 << 20 }, () => rng.int(0, 255))).toString('base64');
    let running = true;
    const failures: string[] = [];
    const loop = (async () => {
      while (running)
        await grm()
          .runJob('alice', a.id, { function: 'crc32c', input })
          .catch((err: Error) => failures.push(err.message));
    })();
    try {
      await sleep(300);
      await pass();
    } finally {
      running = false;
      await loop;
    }
    expect(failures).toEqual([]);
    // Saturated at 1 context with a target of 0.3: ceil(1 / 0.3) = 4, capped at its max of 3.
    expect(contextSlices(a)).toEqual([1, 2]);
    expect(
      grm()
        .get('alice', a.id)
        .resources[0]!.placements.map((p) => p.contexts),
    ).toEqual([1, 2]);
    // Idle: after the cooldown and the shrink window it gives the added slice back, never below min.
    for (let i = 0; i < 12 && contextSlices(a).length > 1; i++) {
      await sleep(250);
      await pass();
    }
    expect(contextSlices(a)).toEqual([1]);
    expect(
      grm()
        .allocationEvents('alice', a.id)
        .map((e) => [e.action, e.from, e.to]),
    ).toEqual([
      ['grew', 1, 3],
      ['shrank', 3, 1],
    ]);
    // The engine it kept still runs jobs.
    await expect(grm().runJob('alice', a.id, { function: 'crc32c', input: 'AAAA' })).resolves.toHaveProperty(
      'output',
    );
  });
});
