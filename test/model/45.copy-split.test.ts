// Issue 8 item 11 (first half): a copy longer than the adapter's CAP_MAX_TRANSFER (ra-spec §3) is
// split by the agent into descriptors the adapter accepts, instead of one descriptor it refuses
// with BAD_ARGUMENT. The model runs with a 64 KiB limit so that the split shows at test sizes;
// contents are written and read back with single descriptors of at most that size, not by the
// code under test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { DmaController, type Location } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';
import { seededBytes } from '../helpers/reference.js';

const maxTransferBytes = 64 * 1024;

describe('copies longer than CAP_MAX_TRANSFER', () => {
  const pool = useModel({ adapters: 2, memoryBytes: 64 * MiB, extraArgs: ['--max-transfer', '64K'] });
  const key = randomKey();
  const hexKey = key.toString(16).padStart(16, '0');
  let agent: Agent;
  let dma: DmaController;
  let host: HostBuffer;
  const mem: number[] = [];

  beforeAll(async () => {
    for (const a of pool.adapters)
      mem.push(await new Slices(a).program({ kind: 'memory', ownerKey: key, base: 0, length: 8 * MiB }));
    dma = new DmaController(pool.adapters[0]!);
    host = await HostBuffer.create(pool.adapters[0]!, 4 * MiB);
    agent = Agent.open('s1', pool.model.uris, openShippedCatalog());
  });
  afterAll(async () => {
    agent?.close();
    await host?.close();
    dma?.close();
  });

  /** Host buffer <-> slice, one descriptor of at most CAP_MAX_TRANSFER per step. */
  async function moveByHand(toSlice: boolean, slice: Location, sliceOffset: number, bytes: number) {
    for (let done = 0; done < bytes; done += maxTransferBytes) {
      const n = Math.min(maxTransferBytes, bytes - done);
      const h = { loc: { host: host.handle }, off: done };
      const s = { loc: slice, off: sliceOffset + done };
      const [src, dst] = toSlice ? [h, s] : [s, h];
      await dma.submit({
        op: 'copy',
        ownerKey: key,
        src: src.loc,
        srcOffset: src.off,
        dst: dst.loc,
        dstOffset: dst.off,
        bytes: n,
      });
    }
  }

  it('the adapter reports the limit the model was started with', () => {
    expect(pool.adapters[0]!.identity.maxTransferBytes).toBe(maxTransferBytes);
  });

  it('one descriptor above the limit is refused (BAD_ARGUMENT)', async () => {
    const slice = { adapter: 0, slice: mem[0]! };
    await expect(
      dma.submit({
        op: 'copy',
        ownerKey: key,
        src: slice,
        srcOffset: 0,
        dst: slice,
        dstOffset: 4 * MiB,
        bytes: maxTransferBytes + 1,
      }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('agent copy of 3 MiB + 100 bytes to another adapter moves every byte', async () => {
    const bytes = 3 * MiB + 100;
    const data = seededBytes(bytes, 0x1101);
    host.bytes.set(data, 0);
    await moveByHand(true, { adapter: 0, slice: mem[0]! }, 4096, bytes);
    await agent.copy({
      srcAdapter: 's1/ra0',
      dstAdapter: 's1/ra1',
      srcEntry: mem[0],
      dstEntry: mem[1],
      srcOffset: 4096,
      dstOffset: 12_345,
      bytes,
      ownerKey: hexKey,
    });
    host.bytes.fill(0);
    await moveByHand(false, { adapter: 1, slice: mem[1]! }, 12_345, bytes);
    expect(Buffer.from(host.bytes.subarray(0, bytes)).equals(data)).toBe(true);
  });
});
