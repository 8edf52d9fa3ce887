// The device model survives any value a client writes to the full register file (ra-spec §2.2 rule 7,
// §10.1): slice placement, kind, key and state are the model's own copies, the BAR shows them.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DmaController } from '../../src/driver/dma.js';
import type { RaError } from '../../src/driver/errors.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { Bar, Slice } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';
import { Prng } from '../helpers/prng.js';

describe('register file robustness', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB });

  const alive = () => pool.model.child.exitCode === null && pool.model.child.signalCode === null;

  it('a SLICE_BASE of 2^44 written through the BAR neither crashes the model nor moves the slice', async () => {
    const a = pool.adapters[0]!;
    const key = randomKey();
    const slices = new Slices(a);
    const slice = await slices.program({ kind: 'memory', ownerKey: key, base: 4 * MiB, length: 2 * MiB });
    const baseReg = Bar.SLICES + slice * Slice.STRIDE + Slice.BASE;
    a.regs.write64(baseReg, 1n << 44n);
    const host = await HostBuffer.create(a, 2 * MiB);
    const dma = new DmaController(a);
    try {
      const data = randomBytes(4096);
      host.bytes.set(data, 0);
      // the copy lands in the slice where the model placed it (4 MiB), not at 2^44
      const done = await dma.submit({
        op: 'copy',
        ownerKey: key,
        src: { host: host.handle },
        srcOffset: 0,
        dst: { adapter: 0, slice },
        dstOffset: 0,
        bytes: 4096,
      });
      expect(done.outBytes).toBe(4096);
      host.bytes.fill(0, 0, 4096);
      await dma.submit({
        op: 'copy',
        ownerKey: key,
        src: { adapter: 0, slice },
        srcOffset: 0,
        dst: { host: host.handle },
        dstOffset: 0,
        bytes: 4096,
      });
      expect(Buffer.from(host.bytes.subarray(0, 4096)).equals(data)).toBe(true);
      await slices.release(slice, key);
      expect(alive()).toBe(true);
      await a.nop();
    } finally {
      dma.close();
      await host.close();
    }
  });

  it('random values at random offsets of the slice table leave the model up and other slices refused (seeded, 2 s)', async () => {
    const a = pool.adapters[0]!;
    const prng = new Prng(0x5eed13);
    const key = randomKey();
    const slices = new Slices(a);
    const victim = await slices.program({ kind: 'memory', ownerKey: key, base: 8 * MiB, length: 2 * MiB });
    const host = await HostBuffer.create(a, 64 * 1024);
    const dma = new DmaController(a);
    const wild = () =>
      prng.pick([0n, 1n, 2n, 3n, 0xffffffffn, 1n << 44n, (1n << 64n) - 1n, BigInt(prng.int(0, 2 ** 31))]);
    try {
      const until = Date.now() + 2000;
      while (Date.now() < until) {
        // scribble over other slice entries (not the one the copies below use)
        for (let n = 0; n < 16; n++) {
          let entry = prng.int(0, a.identity.slices - 1);
          if (entry === victim) entry = (entry + 1) % a.identity.slices;
          const off = Bar.SLICES + entry * Slice.STRIDE + 8 * prng.int(0, 7);
          a.regs.write64(off, wild());
        }
        // descriptors naming any slice: they must fail cleanly, never crash
        let target = prng.int(0, a.identity.slices - 1);
        if (target === victim) target = (target + 1) % a.identity.slices;
        const outcome = await dma
          .submit({
            op: 'copy',
            ownerKey: prng.chance(0.5) ? key : wild() || 1n,
            src: { host: host.handle },
            srcOffset: 0,
            dst: { adapter: 0, slice: target },
            dstOffset: prng.int(0, 4096),
            bytes: 4096,
          })
          .then(
            () => 'OK',
            (err: RaError) => err.code,
          );
        // only the victim carries `key` and it is never named: every copy is refused by a device check
        expect(['OWNER_KEY', 'SLICE_STATE', 'BOUNDS']).toContain(outcome);
      }
      expect(alive()).toBe(true);
      await a.nop();
    } finally {
      dma.close();
      await host.close();
    }
  }, 20_000);
});
