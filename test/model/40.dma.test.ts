// DMA engine (§8): byte-exact copies across adapters at sizes from 1 byte to 64 MiB and unaligned
// offsets; chains; fills; every violation completes with an error and writes nothing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmaController } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { Bar, Qcb } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';

describe('dma', () => {
  const pool = useModel({ adapters: 2, memoryBytes: 512 * MiB });
  const key = randomKey();
  let dma: DmaController;
  let host0: HostBuffer;
  let src: number; // 128 MiB slice on adapter 0
  let dst: number; // 128 MiB slice on adapter 1

  beforeAll(async () => {
    const [a0, a1] = pool.adapters as [(typeof pool.adapters)[0], (typeof pool.adapters)[0]];
    dma = new DmaController(a0!);
    host0 = await HostBuffer.create(a0!, 70 * MiB);
    src = await new Slices(a0!).program({ kind: 'memory', ownerKey: key, base: 0, length: 128 * MiB });
    dst = await new Slices(a1!).program({ kind: 'memory', ownerKey: key, base: 64 * MiB, length: 128 * MiB });
  });
  afterAll(async () => {
    await host0?.close();
    dma?.close();
  });

  const S = () => ({ adapter: 0, slice: src });
  const D = () => ({ adapter: 1, slice: dst });
  const H = () => ({ host: host0.handle });

  async function roundTrip(bytes: number, srcOff: number, dstOff: number): Promise<void> {
    const data = randomBytes(bytes);
    host0.bytes.set(data, 0);
    await dma.submit({
      op: 'copy',
      ownerKey: key,
      src: H(),
      srcOffset: 0,
      dst: S(),
      dstOffset: srcOff,
      bytes,
    });
    await dma.submit({
      op: 'copy',
      ownerKey: key,
      src: S(),
      srcOffset: srcOff,
      dst: D(),
      dstOffset: dstOff,
      bytes,
    });
    host0.bytes.fill(0, 0, bytes + 1);
    await dma.submit({
      op: 'copy',
      ownerKey: key,
      src: D(),
      srcOffset: dstOff,
      dst: H(),
      dstOffset: 0,
      bytes,
    });
    expect(Buffer.from(host0.bytes.subarray(0, bytes)).equals(data)).toBe(true);
    expect(host0.bytes[bytes]).toBe(0); // nothing past the end
  }

  for (const [bytes, so, doff] of [
    [1, 0, 0],
    [7, 3, 5],
    [4096, 1, 4095],
    [65_537, 12_345, 777],
    [MiB + 3, 99, 1],
    [64 * MiB, 5, 3],
  ] as const) {
    it(`copies ${bytes} bytes adapter0@${so} -> adapter1@${doff} byte-exact`, () =>
      roundTrip(bytes, so, doff));
  }

  it('counts bytes and jobs in both slices', () => {
    const s = new Slices(pool.adapters[0]!).read(src);
    expect(s.bytesMoved).toBeGreaterThan(64 * MiB);
    expect(s.jobs).toBeGreaterThan(5);
    expect(s.lastActiveNs).toBeGreaterThan(0);
  });

  it('runs a scatter-gather chain as one completion', async () => {
    const parts = [randomBytes(1000), randomBytes(3000), randomBytes(17)];
    let at = 0;
    for (const p of parts) {
      host0.bytes.set(p, at);
      at += p.length;
    }
    await dma.submitChain(
      parts.map((p, i) => ({
        op: 'copy' as const,
        ownerKey: key,
        src: H(),
        srcOffset: parts.slice(0, i).reduce((n, x) => n + x.length, 0),
        dst: D(),
        dstOffset: 10_000 * i,
        bytes: p.length,
      })),
    );
    for (const [i, p] of parts.entries()) {
      await dma.submit({
        op: 'copy',
        ownerKey: key,
        src: D(),
        srcOffset: 10_000 * i,
        dst: H(),
        dstOffset: 0,
        bytes: p.length,
      });
      expect(Buffer.from(host0.bytes.subarray(0, p.length)).equals(p)).toBe(true);
    }
  });

  it('fills', async () => {
    await dma.submit({ op: 'fill', ownerKey: key, dst: S(), dstOffset: 3, bytes: 100, value: 0x5a });
    await dma.submit({
      op: 'copy',
      ownerKey: key,
      src: S(),
      srcOffset: 2,
      dst: H(),
      dstOffset: 0,
      bytes: 102,
    });
    expect(host0.bytes[0]).not.toBe(0x5a);
    expect(host0.bytes.subarray(1, 101).every((b) => b === 0x5a)).toBe(true);
  });

  it('batches many descriptors behind one doorbell, more than the ring holds', async () => {
    const n = pool.adapters[0]!.identity.ringDepth + 44;
    const done = await dma.submitBatch(
      Array.from({ length: n }, (_, i) => ({
        op: 'fill' as const,
        ownerKey: key,
        dst: S(),
        dstOffset: i,
        bytes: 1,
        value: i & 0xff,
      })),
    );
    expect(done).toHaveLength(n);
  });

  /** The destination reads back unchanged after a refused descriptor. */
  async function expectNothingWritten(code: string, desc: Parameters<DmaController['submit']>[0]) {
    const probe = {
      op: 'copy' as const,
      ownerKey: key,
      src: D(),
      srcOffset: 0,
      dst: H(),
      dstOffset: 0,
      bytes: 8192,
    };
    await dma.submit({ op: 'fill', ownerKey: key, dst: D(), dstOffset: 0, bytes: 8192, value: 0x33 });
    await expect(dma.submit(desc)).rejects.toMatchObject({ code });
    await dma.submit(probe);
    expect(host0.bytes.subarray(0, 8192).every((b) => b === 0x33)).toBe(true);
  }

  it('refuses a copy past the end of the slice (BOUNDS), writing nothing', () =>
    expectNothingWritten('BOUNDS', {
      op: 'copy',
      ownerKey: key,
      src: S(),
      srcOffset: 0,
      dst: D(),
      dstOffset: 128 * MiB - 100,
      bytes: 200,
    }));
  it('refuses an offset overflow (BOUNDS)', () =>
    expectNothingWritten('BOUNDS', {
      op: 'copy',
      ownerKey: key,
      src: S(),
      srcOffset: Number.MAX_SAFE_INTEGER,
      dst: D(),
      dstOffset: 0,
      bytes: 100,
    }));
  it('refuses a foreign owner key (OWNER_KEY), writing nothing', () =>
    expectNothingWritten('OWNER_KEY', {
      op: 'copy',
      ownerKey: key ^ 4n,
      src: S(),
      srcOffset: 0,
      dst: D(),
      dstOffset: 0,
      bytes: 100,
    }));
  it('refuses an unknown fabric port (FABRIC)', () =>
    expectNothingWritten('FABRIC', {
      op: 'copy',
      ownerKey: key,
      src: S(),
      srcOffset: 0,
      dst: { adapter: 9, slice: dst },
      dstOffset: 0,
      bytes: 100,
    }));
  it('refuses a free slice (SLICE_STATE)', () =>
    expectNothingWritten('SLICE_STATE', {
      op: 'copy',
      ownerKey: key,
      src: { adapter: 0, slice: 200 },
      srcOffset: 0,
      dst: D(),
      dstOffset: 0,
      bytes: 100,
    }));
  it('refuses an unregistered host region (HOSTMEM)', () =>
    expectNothingWritten('HOSTMEM', {
      op: 'copy',
      ownerKey: key,
      src: { host: 15 },
      srcOffset: 0,
      dst: D(),
      dstOffset: 0,
      bytes: 100,
    }));
  it('refuses a zero-length copy (BAD_ARGUMENT)', () =>
    expectNothingWritten('BAD_ARGUMENT', {
      op: 'copy',
      ownerKey: key,
      src: S(),
      srcOffset: 0,
      dst: D(),
      dstOffset: 0,
      bytes: 0,
    }));
  it('refuses a whole chain when one link is out of bounds, writing none of it', async () => {
    await dma.submit({ op: 'fill', ownerKey: key, dst: D(), dstOffset: 0, bytes: 8192, value: 0x33 });
    await expect(
      dma.submitChain([
        { op: 'fill', ownerKey: key, dst: D(), dstOffset: 0, bytes: 100, value: 1 },
        { op: 'copy', ownerKey: key, src: S(), srcOffset: 0, dst: D(), dstOffset: 128 * MiB, bytes: 1 },
      ]),
    ).rejects.toMatchObject({ code: 'BOUNDS' });
    await dma.submit({
      op: 'copy',
      ownerKey: key,
      src: D(),
      srcOffset: 0,
      dst: H(),
      dstOffset: 0,
      bytes: 8192,
    });
    expect(host0.bytes.subarray(0, 8192).every((b) => b === 0x33)).toBe(true);
  });

  it('polls when asked: same results without interrupts on the hot path', async () => {
    const a1 = pool.adapters[1]!;
    const polled = new DmaController(a1, { mode: 'poll', pollUs: 200 });
    const qcb = Bar.QUEUES + polled.queue * Qcb.STRIDE;
    try {
      // the adapter was told to spin on this queue after work (§8.6)
      expect(a1.regs.read32(qcb + Qcb.POLL_US)).toBe(200);
      const completedBefore = a1.regs.readNumber(qcb + Qcb.COMPLETED);
      const errorsBefore = a1.regs.readNumber(qcb + Qcb.ERRORS);
      for (let i = 0; i < 50; i++)
        await polled.submit({ op: 'fill', ownerKey: key, dst: D(), dstOffset: i, bytes: 1, value: i + 1 });
      await polled.submit({
        op: 'copy',
        ownerKey: key,
        src: D(),
        srcOffset: 0,
        dst: D(),
        dstOffset: 1000,
        bytes: 50,
      });
      expect(a1.regs.readNumber(qcb + Qcb.COMPLETED) - completedBefore).toBe(51);
      expect(a1.regs.readNumber(qcb + Qcb.ERRORS) - errorsBefore).toBe(0);
    } finally {
      polled.close();
    }
    // read back through the interrupt-driven queue: the fills and the copy both landed
    host0.bytes.fill(0, 0, 1050);
    await dma.submit({
      op: 'copy',
      ownerKey: key,
      src: D(),
      srcOffset: 0,
      dst: H(),
      dstOffset: 0,
      bytes: 1050,
    });
    const expected = Buffer.from(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(Buffer.from(host0.bytes.subarray(0, 50)).equals(expected)).toBe(true);
    expect(Buffer.from(host0.bytes.subarray(1000, 1050)).equals(expected)).toBe(true);
  });
});
