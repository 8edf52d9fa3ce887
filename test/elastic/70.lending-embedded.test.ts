// Lending unused headroom on the embedded pool (issue 15; src/grm/elastic/headroom.ts): a saturated
// elastic allocation whose adapter is full takes the units an idle elastic allocation of HIGHER
// priority, not preemptible, holds but does not use — preemption could not touch it — on another
// adapter, and moves there. The lender keeps its min and reads why. Sizes come from the slice tables.
import { afterEach, describe, expect, it } from 'vitest';
import { reallocateOnce } from '../../src/grm/reallocator.js';
import type { Allocation } from '../../src/grm/types.js';
import { readSliceTables, useEmbedded } from '../grm/helpers.js';
import { Prng } from '../helpers/prng.js';

const PERIOD_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lending unused units to a saturated growth', () => {
  const ctx = useEmbedded(2); // 16 compute units each
  const grm = () => ctx.pool.grm;
  const pass = () => grm().exclusive(() => reallocateOnce(grm(), Date.now(), 'elastic'));
  /** [adapter index, units] of the allocation's compute slice, from the registers. */
  const where = (a: Allocation) => {
    const p = grm().get('alice', a.id).resources[0]!.placements[0]!;
    const adapter = Number(p.adapter.split('/ra')[1]);
    const s = readSliceTables(ctx.pool.modelDir, 2).find((x) => x.adapter === adapter && x.entry === p.slice);
    return [adapter, s?.kind === 'compute' ? s.length : 0];
  };

  afterEach(async () => {
    for (const a of grm().list('alice')) await grm().release('alice', a.id);
  });

  it('takes the idle units of a higher-priority allocation on another adapter, down to its use, and moves', async () => {
    const borrower = await grm().allocate('alice', {
      resources: [{ kind: 'compute', units: 4 }],
      policy: { elastic: { compute: { min: 2, max: 8, targetUtilization: 0.3, cooldownMs: 60_000 } } },
    });
    const filler = await grm().allocate('alice', { resources: [{ kind: 'compute', units: 12 }] });
    const lender = await grm().allocate('alice', {
      resources: [{ kind: 'compute', units: 16 }],
      policy: {
        priority: 10,
        elastic: { compute: { min: 2, max: 16, targetUtilization: 0.7, cooldownMs: 60_000 } },
      },
    });
    expect([where(borrower), where(filler), where(lender)]).toEqual([
      [0, 4],
      [0, 12],
      [1, 16],
    ]);
    await pass(); // the window's start
    const rng = new Prng(70);
    const [m, n, k] = [192, 192, 192];
    const input = Buffer.from(Float32Array.from({ length: m * k + k * n }, () => rng.next()).buffer).toString(
      'base64',
    );
    let running = true;
    const failures: string[] = [];
    const loop = (async () => {
      while (running)
        await grm()
          .runJob('alice', borrower.id, { function: 'matmul-f32', params: { m, n, k }, input })
          .catch((err: Error) => failures.push(err.message));
    })();
    try {
      await sleep(PERIOD_MS);
      await pass();
    } finally {
      running = false;
      await loop;
    }
    // The borrower wanted 8 (its max): ra0 is full of what cannot lend (not elastic); ra1's lender used
    // nothing, so it gave 8 of the 14 above its min, and the borrower moved into them.
    expect(where(borrower)).toEqual([1, 8]);
    expect(where(lender)).toEqual([1, 8]);
    expect(where(filler)).toEqual([0, 12]);
    expect(grm().allocationEvents('alice', lender.id)).toMatchObject([
      { action: 'shrank', from: 16, to: 8, detail: expect.stringMatching(/did not use/) },
    ]);
    expect(grm().allocationEvents('alice', borrower.id)).toMatchObject([{ action: 'grew', from: 4, to: 8 }]);
    expect(
      failures.every((f) => /FUNCTION|does not exist|migrat/i.test(f)),
      failures.join('; '),
    ).toBe(true);
  });
});
