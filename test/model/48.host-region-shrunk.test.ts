// A host region whose file shrank under the model's mapping (ra-spec §11): the DMA engine's access
// faults with SIGBUS, which the model catches and turns into a HOSTMEM completion for that descriptor
// instead of dying. The guard must hold for every such fault, not only the first: the model's
// sigsetjmp does not save the signal mask (a system call per descriptor, on the polled round trip's
// path), so the handler runs with SIGBUS unblocked (SA_NODEFER); without that, SIGBUS would stay
// blocked after the first fault and the second would kill the process.
import { readdirSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmaController } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';
import { Prng } from '../helpers/prng.js';

describe('a host region that shrank under the DMA engine', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB });
  const key = randomKey();
  let dma: DmaController;
  let slice: number;

  beforeAll(async () => {
    dma = new DmaController(pool.adapters[0]!);
    slice = await new Slices(pool.adapters[0]!).program({
      kind: 'memory',
      ownerKey: key,
      base: 0,
      length: 4 * MiB,
    });
  });
  afterAll(() => dma?.close());

  it('fails each descriptor that touches the missing part with HOSTMEM, three times, and the model stays up', async () => {
    const before = new Set(readdirSync(pool.model.dir));
    const host = await HostBuffer.create(pool.adapters[0]!, 2 * MiB);
    try {
      const file = readdirSync(pool.model.dir).find((f) => f.startsWith('host-') && !before.has(f));
      expect(file).toBeDefined();
      const prng = new Prng(48);
      const data = Uint8Array.from({ length: 4096 }, () => prng.int(0, 255));
      host.bytes.set(data, 0);
      truncateSync(path.join(pool.model.dir, file!), 64 * 1024); // the last 1984 KiB are gone
      for (let i = 0; i < 3; i++) {
        await expect(
          dma.submit({
            op: 'copy',
            ownerKey: key,
            src: { host: host.handle },
            srcOffset: MiB,
            dst: { adapter: pool.adapters[0]!.identity.fabricId, slice },
            dstOffset: 0,
            bytes: 4096,
          }),
        ).rejects.toMatchObject({ code: 'HOSTMEM' });
      }
      expect(pool.model.child.exitCode).toBe(null);
      expect(pool.model.child.signalCode).toBe(null);
      // what is still there is still copied, byte-exact (checked back through the same region)
      const S = { adapter: pool.adapters[0]!.identity.fabricId, slice };
      await dma.submit({
        op: 'copy',
        ownerKey: key,
        src: { host: host.handle },
        srcOffset: 0,
        dst: S,
        dstOffset: 0,
        bytes: 4096,
      });
      await dma.submit({
        op: 'copy',
        ownerKey: key,
        src: S,
        srcOffset: 0,
        dst: { host: host.handle },
        dstOffset: 8192,
        bytes: 4096,
      });
      expect(Buffer.from(host.bytes.subarray(8192, 8192 + 4096)).equals(Buffer.from(data))).toBe(true);
    } finally {
      await host.close();
    }
  });
});
