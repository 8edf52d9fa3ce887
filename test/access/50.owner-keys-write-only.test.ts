// Owner keys are write-only (ra-spec §10, §5.1, §18.4): once slices with keys exist and descriptors
// carrying them have run (the agent's own jobs and a tenant's forwarded chains), no byte of the full
// register file holds a key: not the slice table, not the mailbox arguments, not the rings. The
// driver keeps its own copy, so the agent still attributes every slice to its allocation.
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Instance } from '../../src/client/instance.js';
import { Adapter } from '../../src/driver/adapter.js';
import { Bar, Slice } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, useEmbedded } from '../grm/helpers.js';

const ADAPTERS = 2;

describe('owner keys are write-only in the full register file', () => {
  const ctx = useEmbedded(ADAPTERS, 64 * MiB);
  const grm = () => ctx.pool.grm;

  it('after keyed slices, agent jobs and tenant chains, no offset of any BAR holds a key', async () => {
    const a = await grm().allocate('alice', {
      resources: [
        { kind: 'memory', bytes: 4 * MiB },
        { kind: 'accelerator', function: 'sha256' },
      ],
    });
    const b = await grm().allocate('bob', { resources: [{ kind: 'memory', bytes: 2 * MiB }] });
    const input = randomBytes(64 * 1024);
    // the agent's path: descriptors written by the agent with the key in DESC_OWNER_KEY
    const viaAgent = await grm().runJob('alice', a.id, {
      function: 'sha256',
      input: input.toString('base64'),
    });
    expect(Buffer.from(viaAgent.output, 'base64').equals(createHash('sha256').update(input).digest())).toBe(
      true,
    );
    // the tenant's path: chains forwarded by the adapter from a window into a queue of the register file
    const granted = await grm().grants('alice', a.id);
    const [mem, sha] = granted.resources.map((r) => r.placements[0]!);
    const inst = Instance.open(granted);
    try {
      inst.map(mem!).bytes.set(input, 0);
      await inst.job(sha!, { ...mem!, offset: 0 }, { ...mem!, offset: 2 * MiB }, input.length);
      expect(
        Buffer.from(inst.map(mem!).bytes.subarray(2 * MiB, 2 * MiB + 32)).equals(
          createHash('sha256').update(input).digest(),
        ),
      ).toBe(true);

      const keys = [a.id, b.id].map((id) => BigInt(`0x${grm().allocations.get(id)!.ownerKey}`));
      const needles = keys.map((k) => {
        const le = Buffer.alloc(8);
        le.writeBigUInt64LE(k);
        return le;
      });
      let keyedSlices = 0;
      for (let i = 0; i < ADAPTERS; i++) {
        const adapter = Adapter.open(`shm://${path.join(ctx.pool.modelDir, `ra${i}.sock`)}`);
        try {
          const bar = Buffer.from(adapter.regs.bytes); // every offset of the full register file
          for (const needle of needles) expect(bar.indexOf(needle)).toBe(-1);
          const slices = new Slices(adapter);
          for (const s of slices.inUse()) {
            expect(adapter.regs.read64(Bar.SLICES + s.entry * Slice.STRIDE + Slice.OWNER_KEY)).toBe(0n);
            // the driver's own copy still names the owner: the agent attributes slices without reading keys
            expect(keys).toContain(s.ownerKey);
            keyedSlices++;
          }
          for (let arg = 0; arg < 6; arg++) expect(adapter.regs.read64(0x118 + 8 * arg)).toBe(0n);
        } finally {
          adapter.close();
        }
      }
      expect(keyedSlices).toBeGreaterThanOrEqual(3); // alice's memory and context, bob's memory
    } finally {
      inst.close();
      await grm().release('alice', a.id);
      await grm().release('bob', b.id);
    }
  });
});
