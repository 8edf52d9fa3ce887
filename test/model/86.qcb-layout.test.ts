// A queue control block's fields (ra-spec §7): what the driver writes (SQ_TAIL, CQ_HEAD, IRQ_ENABLE,
// POLL_US) and what the adapter writes (SQ_HEAD, CQ_TAIL, AWAKE) lie on two cache lines of their own,
// apart from OWNER and the counters, as a tenant window's do (§18.1, test/access/15). On one shared
// line (the layout before: everything in 0x00-0x37 at a 0x40 stride) every store of either side took
// the line from the other core, several times per polled round trip. The offsets come from
// native/include/ra_regs.h, which the model compiles (bar.h asserts the same at compile time) and
// src/driver/regs.ts is generated from; here they are checked as the driver sees them, and on a
// running model: the adapter stores nothing into the driver's line while it serves the queue.
import { describe, expect, it } from 'vitest';
import { DmaController, readQueueStatus } from '../../src/driver/dma.js';
import { Bar, Fault, Qcb, Queue } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';

const line = (offset: number) => Math.floor(offset / Qcb.LINE_BYTES);
const driverFields = {
  SQ_TAIL: Qcb.SQ_TAIL,
  CQ_HEAD: Qcb.CQ_HEAD,
  IRQ_ENABLE: Qcb.IRQ_ENABLE,
  POLL_US: Qcb.POLL_US,
};
const adapterFields = { SQ_HEAD: Qcb.SQ_HEAD, CQ_TAIL: Qcb.CQ_TAIL, AWAKE: Qcb.AWAKE };
const headerFields = {
  OWNER: Qcb.OWNER,
  SUBMITTED: Qcb.SUBMITTED,
  COMPLETED: Qcb.COMPLETED,
  ERRORS: Qcb.ERRORS,
};
const u64 = new Set<number>([Qcb.SUBMITTED, Qcb.COMPLETED, Qcb.ERRORS]);

/** The words of line `l` of a block at `base` that hold none of `used` (a u64 holds two words). */
const spare = (base: number, l: number, used: number[]) => {
  const taken = new Set(used.flatMap((o) => (u64.has(o) ? [o, o + 4] : [o])));
  return [...Array(Qcb.LINE_BYTES / 4).keys()]
    .map((k) => l * Qcb.LINE_BYTES + 4 * k)
    .filter((o) => !taken.has(o))
    .map((o) => base + o);
};

describe('queue control block layout (ra-spec §7)', () => {
  it("puts the driver's and the adapter's queue fields on cache lines of their own", () => {
    expect(Qcb.LINE_BYTES).toBe(64);
    expect(new Set(Object.values(driverFields).map(line))).toEqual(new Set([line(Qcb.SQ_TAIL)]));
    expect(new Set(Object.values(adapterFields).map(line))).toEqual(new Set([line(Qcb.SQ_HEAD)]));
    expect(new Set(Object.values(headerFields).map((o) => line(o + (u64.has(o) ? 7 : 3))))).toEqual(
      new Set([line(Qcb.OWNER)]),
    );
    expect(new Set([line(Qcb.OWNER), line(Qcb.SQ_TAIL), line(Qcb.SQ_HEAD)]).size).toBe(3);
    for (const off of [...Object.values(driverFields), ...Object.values(adapterFields)]) {
      expect(off % 4).toBe(0);
      expect(line(off + 3)).toBe(line(off));
    }
    for (const off of u64) expect(off % 8).toBe(0);
    // every block begins on a line and holds its three lines; all of them end before the slot table (§2)
    expect(Bar.QUEUES % Qcb.LINE_BYTES).toBe(0);
    expect(Qcb.STRIDE % Qcb.LINE_BYTES).toBe(0);
    expect(line(Qcb.AWAKE + 3)).toBeLessThan(Qcb.STRIDE / Qcb.LINE_BYTES);
    expect(Bar.QUEUES + Queue.MAX * Qcb.STRIDE).toBeLessThanOrEqual(Bar.SLOTS);
  });

  describe('on a running model', () => {
    const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB });

    it.each(['poll', 'interrupt'] as const)(
      "%s mode: the adapter stores only into its line and the counters, never the driver's line",
      async (mode) => {
        const adapter = pool.adapters[0]!;
        const key = randomKey();
        const slice = await new Slices(adapter).program({
          kind: 'memory',
          ownerKey: key,
          base: mode === 'poll' ? 0 : 2 * MiB,
          length: 2 * MiB,
        });
        const dma = new DmaController(adapter, { mode, pollUs: 1_000 });
        const base = Bar.QUEUES + dma.queue * Qcb.STRIDE;
        const r = adapter.regs;
        const driverSpare = spare(base, line(Qcb.SQ_TAIL), Object.values(driverFields));
        try {
          // marks in the spare words of the driver's line: the adapter must leave them alone
          for (const [k, off] of driverSpare.entries()) r.write32(off, 0xa5a50000 + k);
          const before = readQueueStatus(adapter, dma.queue);
          const n = 40;
          const dst = { adapter: adapter.identity.fabricId, slice };
          for (let i = 0; i < n; i++)
            await dma.submit({ op: 'fill', ownerKey: key, dst, dstOffset: i, bytes: 1, value: i });
          const after = readQueueStatus(adapter, dma.queue);
          expect(after.sqTail - before.sqTail).toBe(n);
          expect(after.sqHead - before.sqHead).toBe(n);
          expect(after.cqTail - before.cqTail).toBe(n);
          expect(after.cqHead).toBe(after.cqTail);
          expect(after.completed - before.completed).toBe(n);
          expect(after.errors).toBe(before.errors);
          expect(r.read32(base + Qcb.POLL_US)).toBe(mode === 'poll' ? 1_000 : 0);
          for (const [k, off] of driverSpare.entries()) expect(r.read32(off)).toBe(0xa5a50000 + k);
          // the adapter's line and line 0 hold only their fields
          for (const off of spare(base, line(Qcb.SQ_HEAD), Object.values(adapterFields)))
            expect(r.read32(off)).toBe(0);
          for (const off of spare(base, line(Qcb.OWNER), Object.values(headerFields)))
            expect(r.read32(off)).toBe(0);
        } finally {
          for (const off of driverSpare) r.write32(off, 0);
          dma.close();
        }
      },
    );
    it('poll mode: IRQ_ENABLE is 0 while the driver spins and 1 only while it sleeps (§8.6)', async () => {
      // an interrupt per completion is a system call of the model (~1 µs of a polled round trip): a
      // polling driver arms it only before a sleep, and the completion still wakes it
      const adapter = pool.adapters[0]!;
      const key = randomKey();
      const slice = await new Slices(adapter).program({
        kind: 'memory',
        ownerKey: key,
        base: 8 * MiB,
        length: 2 * MiB,
      });
      const dma = new DmaController(adapter, { mode: 'poll', pollUs: 200_000 });
      const irq = Bar.QUEUES + dma.queue * Qcb.STRIDE + Qcb.IRQ_ENABLE;
      const dst = { adapter: adapter.identity.fabricId, slice };
      try {
        expect(adapter.regs.read32(irq)).toBe(0);
        // held 1 s by the model (§6 STALL_NEXT_DMA), it outlasts the 200 ms spin: the driver sleeps, armed
        adapter.injectFault(Fault.STALL_NEXT_DMA, 1_000);
        const held = dma.submit({ op: 'fill', ownerKey: key, dst, dstOffset: 0, bytes: 1, value: 9 });
        expect(adapter.regs.read32(irq)).toBe(1);
        await held;
        // the next one completes while the driver spins (the model polls for POLL_US after work)
        await dma.submit({ op: 'fill', ownerKey: key, dst, dstOffset: 1, bytes: 1, value: 3 });
        expect(adapter.regs.read32(irq)).toBe(0);
        expect(readQueueStatus(adapter, dma.queue).errors).toBe(0);
      } finally {
        dma.close();
      }
    });
  });
});
