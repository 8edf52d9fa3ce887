// CMD_SLICE_PROGRAM (ra-spec §5.3, §5.4): RESERVE and ACTIVATE in one admin command. Every result is
// read from the adapter's registers (slice table, mailbox sequence), not from the driver's word.
import { describe, expect, it } from 'vitest';
import { DmaController } from '../../src/driver/dma.js';
import { Bar, Cmd, Reg, Slice, SliceKind, SliceState, Slot } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, useModel } from '../helpers/model.js';
import { Prng } from '../helpers/prng.js';

describe('CMD_SLICE_PROGRAM', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB, computeUnits: 4 });
  const prng = new Prng(31);
  const key = (): bigint => (BigInt(prng.int(1, 2 ** 31)) << 32n) | BigInt(prng.int(1, 2 ** 31));
  const adapter = () => pool.adapters[0]!;
  const sliceReg = (entry: number, field: number) => Bar.SLICES + entry * Slice.STRIDE + field;
  /** The slice table and slot table as the BAR holds them, byte for byte. */
  const tables = () => {
    const r = adapter().regs;
    const n = adapter().identity.slices;
    return (
      Buffer.from(r.readBytes(Bar.SLICES, n * Slice.STRIDE)).toString('hex') +
      Buffer.from(r.readBytes(Bar.SLOTS, adapter().identity.slots * Slot.STRIDE)).toString('hex')
    );
  };
  const doneSeq = () => adapter().regs.read32(Reg.CMD_DONE_SEQ);

  it('takes a free entry straight to ACTIVE in one command; the slice takes descriptors at once', async () => {
    const a = adapter();
    const k = key();
    const before = doneSeq();
    const entry = await new Slices(a).program(
      { kind: 'memory', ownerKey: k, base: 8 * MiB, length: 4 * MiB },
      3,
    );
    expect(entry).toBe(3);
    expect((doneSeq() - before) >>> 0).toBe(1); // one mailbox round trip (RESERVE + ACTIVATE took two)
    const r = a.regs;
    expect(r.read32(sliceReg(3, Slice.STATE))).toBe(SliceState.ACTIVE);
    expect(r.read32(sliceReg(3, Slice.KIND))).toBe(SliceKind.MEMORY);
    expect(r.readNumber(sliceReg(3, Slice.BASE))).toBe(8 * MiB);
    expect(r.readNumber(sliceReg(3, Slice.LENGTH))).toBe(4 * MiB);
    expect(r.read64(sliceReg(3, Slice.OWNER_KEY))).toBe(0n); // write-only (§10)
    for (let i = 0; i < 6; i++) expect(r.read64(Reg.CMD_ARG0 + 8 * i)).toBe(0n); // §5.1: zeroed on completion
    const dma = new DmaController(a);
    try {
      await dma.submit({
        op: 'fill',
        ownerKey: k,
        dst: { adapter: a.identity.fabricId, slice: 3 },
        dstOffset: 0,
        bytes: 4096,
        value: 7,
      });
      expect(r.readNumber(sliceReg(3, Slice.BYTES_MOVED))).toBe(4096);
      expect(r.readNumber(sliceReg(3, Slice.JOBS))).toBe(1);
    } finally {
      dma.close();
    }
    const released = doneSeq();
    await new Slices(a).release(3, k);
    expect((doneSeq() - released) >>> 0).toBe(1);
    expect(r.read32(sliceReg(3, Slice.STATE))).toBe(SliceState.FREE);
    expect(r.read32(sliceReg(3, Slice.KIND))).toBe(SliceKind.NONE);
  });

  it('programs compute slices and refuses one that overlaps, as RESERVE does', async () => {
    const s = new Slices(adapter());
    const k1 = key();
    const k2 = key();
    const e = await s.program({ kind: 'compute', ownerKey: k1, base: 0, length: 2 });
    const before = tables();
    await expect(s.program({ kind: 'compute', ownerKey: k2, base: 1, length: 2 })).rejects.toMatchObject({
      code: 'OVERLAP',
    });
    expect(tables()).toBe(before);
    expect(adapter().regs.read32(sliceReg(e, Slice.STATE))).toBe(SliceState.ACTIVE);
    await s.release(e, k1);
  });

  it('refuses bad input with the datasheet status and changes nothing', async () => {
    const a = adapter();
    const s = new Slices(a);
    const k = key();
    const held = await s.program({ kind: 'memory', ownerKey: k, base: 0, length: 2 * MiB });
    const raw = (args: (number | bigint)[]) =>
      a.command(Cmd.SLICE_PROGRAM, { args, what: 'CMD_SLICE_PROGRAM' });
    const cases: [string, (number | bigint)[], string][] = [
      [
        'index beyond CAP_SLICES',
        [a.identity.slices, SliceKind.MEMORY, key(), 16 * MiB, 2 * MiB],
        'BAD_ARGUMENT',
      ],
      ['entry in use', [held, SliceKind.MEMORY, key(), 16 * MiB, 2 * MiB], 'SLICE_STATE'],
      ['kind NONE', [9, SliceKind.NONE, key(), 16 * MiB, 2 * MiB], 'BAD_ARGUMENT'],
      ['unknown kind', [9, 4, key(), 16 * MiB, 2 * MiB], 'BAD_ARGUMENT'],
      ['owner key 0', [9, SliceKind.MEMORY, 0n, 16 * MiB, 2 * MiB], 'BAD_ARGUMENT'],
      ['length 0', [9, SliceKind.MEMORY, key(), 16 * MiB, 0], 'BAD_ARGUMENT'],
      ['misaligned base', [9, SliceKind.MEMORY, key(), 16 * MiB + 4096, 2 * MiB], 'ALIGN'],
      ['past the memory', [9, SliceKind.MEMORY, key(), 62 * MiB, 4 * MiB], 'NO_RESOURCE'],
      ['overlapping memory', [9, SliceKind.MEMORY, key(), MiB * 0, 2 * MiB], 'OVERLAP'],
      ['compute past the units', [9, SliceKind.COMPUTE, key(), 3, 2], 'NO_RESOURCE'],
      ['context of an empty slot', [9, SliceKind.CONTEXT, key(), 0, 1], 'SLOT_STATE'],
      [
        'context of a slot that does not exist',
        [9, SliceKind.CONTEXT, key(), 99 * 2 ** Slice.CTX_SLOT_SHIFT, 1],
        'BAD_ARGUMENT',
      ],
    ];
    for (const [what, args, code] of cases) {
      const before = tables();
      await expect(raw(args), what).rejects.toMatchObject({ code });
      expect(tables(), what).toBe(before);
      expect(a.regs.read32(Reg.CMD_STATUS), what).not.toBe(0);
    }
    await s.release(held, k);
  });

  it('keeps no key for a refused program: the driver puts its copy back', async () => {
    const s = new Slices(adapter());
    const k = key();
    const e = await s.program({ kind: 'memory', ownerKey: k, base: 0, length: 2 * MiB });
    await expect(
      s.program({ kind: 'memory', ownerKey: key(), base: 0, length: 2 * MiB }, 5),
    ).rejects.toMatchObject({
      code: 'OVERLAP',
    });
    expect(s.read(5)).toMatchObject({ state: 'free', ownerKey: 0n });
    expect(s.read(e)).toMatchObject({ state: 'active', ownerKey: k });
    await s.release(e, k);
  });
});
