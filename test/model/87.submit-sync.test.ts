// DmaController.submitSync (poll mode's synchronous round trip, ra-spec §8.6): the completion comes
// back without a promise when it was seen while spinning, a device error is thrown, and a chain that
// outlasts the spin falls back to a promise. Completions are checked against the queue's indices and
// bytes against a reference written here; other waits in flight get their own completions.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Completion, type Descriptor, DmaController, readQueueStatus } from '../../src/driver/dma.js';
import { RaError } from '../../src/driver/errors.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { Fault } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';

describe('DmaController.submitSync', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB });
  const key = randomKey();
  let host: HostBuffer;
  let slice: number;
  const a = () => pool.adapters[0]!;
  const S = () => ({ adapter: a().identity.fabricId, slice });
  const H = () => ({ host: host.handle });

  beforeAll(async () => {
    host = await HostBuffer.create(a(), 2 * MiB);
    slice = await new Slices(a()).program({ kind: 'memory', ownerKey: key, base: 0, length: 32 * MiB });
  });
  afterAll(async () => {
    await host?.close();
  });

  /** The slice's first `bytes` as the adapter holds them: copied into the host buffer by `dma`. */
  async function sliceBytes(dma: DmaController, bytes: number): Promise<Buffer> {
    host.bytes.fill(0xee, MiB, MiB + bytes);
    await dma.submit({ op: 'copy', ownerKey: key, src: S(), srcOffset: 0, dst: H(), dstOffset: MiB, bytes });
    return Buffer.from(host.bytes.subarray(MiB, MiB + bytes));
  }

  it('poll mode: returns each completion itself, in order, and the bytes are those written', async () => {
    // a long spin on both sides (200 ms): on a loaded machine too, each one completes while spinning
    const dma = new DmaController(a(), { mode: 'poll', pollUs: 200_000 });
    try {
      const reference = Buffer.alloc(4096);
      const data = randomBytes(4096);
      host.bytes.set(data, 0);
      const before = readQueueStatus(a(), dma.queue);
      const descs: Descriptor[] = [];
      for (let i = 0; i < 64; i++) {
        const off = (i * 61) % 4000;
        const bytes = 1 + ((i * 37) % 96);
        if (i % 3 === 0) {
          descs.push({
            op: 'copy',
            ownerKey: key,
            src: H(),
            srcOffset: off,
            dst: S(),
            dstOffset: off,
            bytes,
          });
          data.copy(reference, off, off, off + bytes);
        } else {
          descs.push({ op: 'fill', ownerKey: key, dst: S(), dstOffset: off, bytes, value: i });
          reference.fill(i, off, off + bytes);
        }
      }
      const got: Completion[] = [];
      for (const d of descs) {
        const c = dma.submitSync(d);
        expect(c).not.toBeInstanceOf(Promise);
        got.push(c as Completion);
      }
      // one CQE per descriptor, each the one of its own SQ entry, with its own byte count
      got.forEach((c, i) => {
        expect(c.sqIndex).toBe((before.sqTail + i) >>> 0);
        expect(c.outBytes).toBe((descs[i] as { bytes: number }).bytes);
        if (i > 0) expect(c.cookie).not.toBe(got[i - 1]!.cookie);
      });
      const after = readQueueStatus(a(), dma.queue);
      expect(after.completed - before.completed).toBe(64);
      expect(after.errors).toBe(before.errors);
      // the last CQE's head is stored with the next submission (nothing else was in flight), then shown
      expect(after.cqHead).toBe((after.cqTail - 1) >>> 0);
      const written = await sliceBytes(dma, 4096);
      expect(written.equals(reference)).toBe(true);
      const end = readQueueStatus(a(), dma.queue);
      expect(end.cqHead).toBe(end.cqTail);
      dma.submitSync({ op: 'fill', ownerKey: key, dst: S(), dstOffset: 0, bytes: 1, value: 0 });
      dma.close();
      const closed = readQueueStatus(a(), dma.queue);
      expect(closed.cqHead).toBe(closed.cqTail); // given back with consistent indices (§17.3)
    } finally {
      dma.close();
    }
  });

  it('throws the device error of a completion seen while spinning, and argument errors', () => {
    const dma = new DmaController(a(), { mode: 'poll', pollUs: 200_000 });
    try {
      const before = readQueueStatus(a(), dma.queue);
      const wrongKey = {
        op: 'fill',
        ownerKey: key ^ 2n,
        dst: S(),
        dstOffset: 0,
        bytes: 1,
        value: 1,
      } as const;
      expect(() => dma.submitSync(wrongKey)).toThrow(
        expect.objectContaining({ code: 'OWNER_KEY' }) as unknown as Error,
      );
      expect(readQueueStatus(a(), dma.queue).errors - before.errors).toBe(1);
      // refused before anything is posted
      const bad = { op: 'fill', ownerKey: key, dst: S(), dstOffset: -1, bytes: 1, value: 1 } as const;
      expect(() => dma.submitSync(bad)).toThrow(RaError);
      expect(() => dma.submitChainSync([])).toThrow(RaError);
      expect(readQueueStatus(a(), dma.queue).sqTail).toBe(before.sqTail + 1);
      // the queue goes on: the next one completes
      const c = dma.submitSync({ op: 'fill', ownerKey: key, dst: S(), dstOffset: 0, bytes: 1, value: 2 });
      expect(c).not.toBeInstanceOf(Promise);
      expect((c as Completion).sqIndex).toBe(before.sqTail + 1);
    } finally {
      dma.close();
    }
  });

  it('falls back to a promise for a chain that outlasts the spin; waits in flight keep theirs', async () => {
    const dma = new DmaController(a(), { mode: 'poll', pollUs: 100_000 });
    try {
      const before = readQueueStatus(a(), dma.queue);
      // held 1 s by the model (§6 STALL_NEXT_DMA): longer than both spins (100 ms)
      a().injectFault(Fault.STALL_NEXT_DMA, 1_000);
      const held = dma.submit({ op: 'fill', ownerKey: key, dst: S(), dstOffset: 0, bytes: 512, value: 7 });
      const chain = dma.submitChainSync([
        { op: 'fill', ownerKey: key, dst: S(), dstOffset: 512, bytes: 256, value: 8 },
        { op: 'fill', ownerKey: key, dst: S(), dstOffset: 768, bytes: 256, value: 9 },
      ]);
      expect(chain).toBeInstanceOf(Promise);
      const [h, c] = await Promise.all([held, chain]);
      expect(h.sqIndex).toBe(before.sqTail);
      expect(h.outBytes).toBe(512);
      expect(c.sqIndex).toBe(before.sqTail + 2);
      expect(c.outBytes).toBe(512);
      // the next one is fast again, and its completion is not mistaken for an older wait's
      const next = dma.submitSync({
        op: 'fill',
        ownerKey: key,
        dst: S(),
        dstOffset: 1024,
        bytes: 1,
        value: 10,
      });
      expect(next).not.toBeInstanceOf(Promise);
      expect((next as Completion).sqIndex).toBe(before.sqTail + 3);
      const reference = Buffer.alloc(1025);
      reference.fill(7, 0, 512).fill(8, 512, 768).fill(9, 768, 1024).fill(10, 1024, 1025);
      expect((await sliceBytes(dma, 1025)).equals(reference)).toBe(true);
    } finally {
      dma.close();
    }
  });

  it('leaves the entries in flight alone with the ring nearly full (its store into the next free entry)', async () => {
    // a held chain and depth - 3 more behind it, then submitSync: it writes its own entry and touches
    // the one after (free); the one after that wraps onto the held chain's, which it must not touch
    const dma = new DmaController(a(), { mode: 'poll', pollUs: 100_000 });
    const depth = a().identity.ringDepth;
    try {
      const before = readQueueStatus(a(), dma.queue);
      a().injectFault(Fault.STALL_NEXT_DMA, 300);
      const fill = (i: number): Descriptor => ({
        op: 'fill',
        ownerKey: key,
        dst: S(),
        dstOffset: 8192 + i,
        bytes: 1,
        value: (i * 7 + 1) & 0xff,
      });
      const waits = Array.from({ length: depth - 2 }, (_, i) => dma.submit(fill(i)));
      let last = dma.submitSync(fill(depth - 2));
      if (last instanceof Promise) last = await last;
      const done = await Promise.all(waits);
      expect(done.map((c) => c.sqIndex)).toEqual(done.map((_, i) => (before.sqTail + i) >>> 0));
      expect(last.sqIndex).toBe((before.sqTail + depth - 2) >>> 0);
      expect(readQueueStatus(a(), dma.queue).errors).toBe(before.errors);
      const reference = Buffer.alloc(8192 + depth - 1, 0);
      const got = await sliceBytes(dma, 8192 + depth - 1);
      for (let i = 0; i < depth - 1; i++) reference[8192 + i] = (i * 7 + 1) & 0xff;
      expect(got.subarray(8192).equals(reference.subarray(8192))).toBe(true);
    } finally {
      dma.close();
    }
  });

  it("reaps other waits' completions while it spins", async () => {
    // a batch of 4 MiB copies sleeps on the vector; a submitSync behind them falls back, and every
    // completion reaches its own waiter
    const dma = new DmaController(a(), { mode: 'poll', pollUs: 50 });
    try {
      const before = readQueueStatus(a(), dma.queue);
      const copy = (i: number): Descriptor => ({
        op: 'copy',
        ownerKey: key,
        src: S(),
        srcOffset: 0,
        dst: S(),
        dstOffset: 8 * MiB + i * 4 * MiB,
        bytes: 4 * MiB,
      });
      const batch = dma.submitBatch([copy(0), copy(1), copy(2)]);
      const fill = { op: 'fill', ownerKey: key, dst: S(), dstOffset: 2048, bytes: 3, value: 0x42 } as const;
      let last = dma.submitSync(fill);
      if (last instanceof Promise) last = await last;
      const done = await batch;
      expect(done.map((c) => c.sqIndex)).toEqual([0, 1, 2].map((i) => before.sqTail + i));
      expect(done.map((c) => c.outBytes)).toEqual([4 * MiB, 4 * MiB, 4 * MiB]);
      expect(last.sqIndex).toBe(before.sqTail + 3);
      expect(last.outBytes).toBe(3);
      expect(readQueueStatus(a(), dma.queue).errors).toBe(before.errors);
    } finally {
      dma.close();
    }
  });

  it('interrupt mode: always the promise of submit()', async () => {
    const dma = new DmaController(a());
    try {
      const before = readQueueStatus(a(), dma.queue);
      const c = dma.submitSync({ op: 'fill', ownerKey: key, dst: S(), dstOffset: 4000, bytes: 2, value: 5 });
      expect(c).toBeInstanceOf(Promise);
      expect((await c).sqIndex).toBe(before.sqTail);
    } finally {
      dma.close();
    }
  });
});
