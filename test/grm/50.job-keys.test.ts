// Issue 8 item 1: each aes-256-gcm job runs under its own key. Jobs in flight at once on one engine
// context, or on two contexts of one slot, must never borrow another job's key (ra-spec §12.1: the
// key travels with the job in its own memory, DESC_F_INLINE_KEY). Every output is checked against
// node:crypto; keys, IVs and inputs come from a seeded PRNG so a failure can be replayed.
import { describe, expect, it } from 'vitest';
import { Prng } from '../helpers/prng.js';
import { aes256gcm, seededBytes } from '../helpers/reference.js';
import { MiB, readSliceTables, useEmbedded } from './helpers.js';

interface Job {
  key: Buffer;
  iv: Buffer;
  input: Buffer;
}

/** `count` jobs with distinct keys and IVs: a third 4 KiB, a third 64 KiB + 7, a third 1 MiB + 3. */
function jobs(count: number, seed: number): Job[] {
  const prng = new Prng(seed);
  const sizes = [4096, 64 * 1024 + 7, MiB + 3];
  return Array.from({ length: count }, (_, i) => ({
    key: seededBytes(32, prng.int(1, 2 ** 31)),
    iv: seededBytes(12, prng.int(1, 2 ** 31)),
    input: seededBytes(sizes[i % sizes.length]!, prng.int(1, 2 ** 31)),
  }));
}

describe('aes-256-gcm keys travel with their jobs (issue 8 item 1)', () => {
  const ctx = useEmbedded(1, 1024 * MiB);
  const grm = () => ctx.pool.grm;

  const run = async (allocation: string, j: Job) => {
    const { output } = await grm().runJob('alice', allocation, {
      function: 'aes-256-gcm',
      params: { key: j.key.toString('hex'), iv: j.iv.toString('hex') },
      input: j.input.toString('base64'),
    });
    return Buffer.from(output, 'base64');
  };

  /** Indices of the jobs whose output is not their own encryption. */
  const wrong = (all: Job[], outputs: Buffer[]) =>
    all.flatMap((j, i) => (outputs[i]!.equals(aes256gcm(j.key, j.iv, j.input)) ? [] : [i]));

  it('64 parallel jobs with distinct keys on one allocation each come back under their own key', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'accelerator', function: 'aes-256-gcm' }],
    });
    try {
      const all = jobs(64, 0x8001);
      const outputs = await Promise.all(all.map((j) => run(a.id, j)));
      expect(wrong(all, outputs)).toEqual([]);
    } finally {
      await grm().release('alice', a.id);
    }
  }, 120_000);

  it('64 parallel jobs over two allocations sharing one slot each come back under their own key', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'accelerator', function: 'aes-256-gcm' }],
    });
    const b = await grm().allocate('alice', {
      resources: [{ kind: 'accelerator', function: 'aes-256-gcm' }],
    });
    try {
      // The two engines are contexts of one slot, read from the adapter's slice table.
      const contexts = readSliceTables(ctx.pool.modelDir, 1).filter((s) => s.kind === 'context');
      expect(contexts).toHaveLength(2);
      expect(contexts[0]!.slot).toBe(contexts[1]!.slot);
      const all = jobs(64, 0x8002);
      const outputs = await Promise.all(all.map((j, i) => run(i % 2 === 0 ? a.id : b.id, j)));
      expect(wrong(all, outputs)).toEqual([]);
    } finally {
      await grm().release('alice', a.id);
      await grm().release('alice', b.id);
    }
  }, 120_000);
});
