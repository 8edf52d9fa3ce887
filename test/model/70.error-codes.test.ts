// Every datasheet error code (§15) is produced by the adapter and mapped to its stable code.
// The other files produce most of them in context; this one collects one of each in a table.
import { describe, expect, it } from 'vitest';
import { buildImage } from '../../src/bitstream/image.js';
import { DmaController } from '../../src/driver/dma.js';
import { deviceErrorCode, RaError } from '../../src/driver/errors.js';
import { Bar, Cmd, Cqe, Err, Fault, Load, Qcb, Reg, Ring, Vec } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { MiB, randomKey, testImage, useModel } from '../helpers/model.js';

describe('error codes', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB, computeUnits: 4 });
  const produced = new Set<string>();
  const a = () => pool.adapters[0]!;

  async function expectCode(code: string, p: Promise<unknown>) {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, `expected ${code}`).toBeInstanceOf(RaError);
    expect((err as RaError).code).toBe(code);
    produced.add(code);
  }

  it('maps every datasheet number to a distinct stable code', () => {
    const codes = Object.values(Err)
      .filter((n) => n !== Err.OK && n !== Err.COUNT)
      .map(deviceErrorCode);
    expect(new Set(codes).size).toBe(Err.COUNT - 1);
    expect(codes).not.toContain('UNKNOWN_DEVICE_ERROR');
  });

  it('produces each admin error', async () => {
    const s = new Slices(a());
    const slots = new Slots(a());
    const key = randomKey();
    await expectCode('BAD_OPCODE', a().command(0x7f));
    await expectCode('BAD_ARGUMENT', a().command(Cmd.SLOT_LOAD, { args: [99, Load.SRC_STAGING, 200] }));
    await expectCode('IMG_MAGIC', slots.load(0, Buffer.alloc(256)));
    await expectCode(
      'IMG_SPEC',
      slots.load(
        0,
        buildImage(
          { functionId: 2, specMin: 5 << 16, specMax: 5 << 16, contexts: 1, version: 1, name: 'x' },
          Buffer.alloc(8),
        ),
      ),
    );
    await expectCode(
      'IMG_HASH',
      slots.load(
        0,
        (() => {
          const i = testImage('sha256');
          i[200]! ^= 1;
          return i;
        })(),
      ),
    );
    await expectCode('IMG_SIZE', slots.load(0, testImage('sha256').subarray(0, 300)));
    await expectCode('IMG_FUNCTION', slots.load(0, testImage('sha256', { contexts: 0 })));
    await expectCode(
      'JOB_PARAMS',
      slots.load(
        0,
        buildImage(
          { functionId: 4, specMin: 1 << 16, specMax: 1 << 16, contexts: 1, version: 1, name: 'p' },
          Buffer.alloc(16),
        ),
      ),
    );
    await slots.load(0, testImage('sha256', { contexts: 1 }));
    await s.program({ kind: 'context', ownerKey: key, base: 0, length: 1, slot: 0 });
    await expectCode('SLOT_BUSY', slots.load(0, testImage('crc32c')));
    await expectCode(
      'SLOT_STATE',
      s.program({ kind: 'context', ownerKey: key, base: 0, length: 1, slot: 1 }),
    );
    await expectCode('ALIGN', s.program({ kind: 'memory', ownerKey: key, base: 1, length: 2 * MiB }));
    await expectCode('NO_RESOURCE', s.program({ kind: 'compute', ownerKey: key, base: 0, length: 5 }));
    const m = await s.program({ kind: 'memory', ownerKey: key, base: 0, length: 2 * MiB });
    await expectCode('OVERLAP', s.program({ kind: 'memory', ownerKey: key, base: 0, length: 2 * MiB }));
    await expectCode('OWNER_KEY', s.release(m, key + 2n));
    await expectCode('SLICE_STATE', s.activate(m, key));
    await expectCode(
      'HOSTMEM',
      a().command(Cmd.HOSTMEM_REGISTER, { args: [0, 4096], data: Buffer.from('../etc/passwd\0') }),
    );
    // LOAD_FAILED and FAULT_INJECTED come from the debug register
    a().injectFault(Fault.FAIL_NEXT_LOAD);
    await expectCode('LOAD_FAILED', slots.load(1, testImage('crc32c')));
    // NOT_LOCKED: post a command by hand without holding the lock
    const r = a().regs;
    r.write32(Reg.CMD_OPCODE, Cmd.NOP);
    const seq = (r.read32(Reg.CMD_DONE_SEQ) + 1) >>> 0;
    r.write32(Reg.CMD_SEQ, seq);
    a().ring(Vec.ADMIN);
    await a().waiter.until(Vec.ADMIN, () => r.read32(Reg.CMD_DONE_SEQ) === seq, 2000, 'unlocked NOP');
    expect(deviceErrorCode(r.read32(Reg.CMD_STATUS))).toBe('NOT_LOCKED');
    produced.add('NOT_LOCKED');
  });

  it('produces each DMA error', async () => {
    const s = new Slices(a());
    const key = randomKey();
    const m = await s.program({ kind: 'memory', ownerKey: key, base: 8 * MiB, length: 2 * MiB });
    const dma = new DmaController(a());
    const loc = { adapter: 0, slice: m };
    try {
      await expectCode(
        'BOUNDS',
        dma.submit({ op: 'fill', ownerKey: key, dst: loc, dstOffset: 2 * MiB, bytes: 1, value: 0 }),
      );
      await expectCode(
        'FABRIC',
        dma.submit({
          op: 'fill',
          ownerKey: key,
          dst: { adapter: 7, slice: m },
          dstOffset: 0,
          bytes: 1,
          value: 0,
        }),
      );
      await expectCode(
        'FUNCTION',
        dma.submit({
          op: 'job',
          ownerKey: key,
          ctxSlice: m,
          src: loc,
          srcOffset: 0,
          bytes: 1,
          dst: loc,
          dstOffset: 64,
        }),
      );
      a().injectFault(Fault.FAIL_NEXT_DMA);
      await new Promise((r) => setTimeout(r, 20));
      await expectCode(
        'FAULT_INJECTED',
        dma.submit({ op: 'fill', ownerKey: key, dst: loc, dstOffset: 0, bytes: 1, value: 0 }),
      );
    } finally {
      dma.close();
    }
    // QUEUE: a descriptor on a queue nobody owns
    const q = a().identity.queues - 1;
    const qcb = Bar.QUEUES + q * Qcb.STRIDE;
    const r = a().regs;
    expect(r.read32(qcb + Qcb.OWNER)).toBe(0);
    const before = r.read32(qcb + Qcb.CQ_TAIL);
    r.write32(qcb + Qcb.SQ_TAIL, (r.read32(qcb + Qcb.SQ_TAIL) + 1) >>> 0);
    a().ring(Vec.QUEUE0 + q);
    await a().waiter.until(
      Vec.QUEUE0 + q,
      () => r.read32(qcb + Qcb.CQ_TAIL) !== before,
      2000,
      'unowned queue completion',
    );
    const at =
      Bar.RINGS + q * Ring.STRIDE + Ring.CQ_OFFSET + (before & (a().identity.ringDepth - 1)) * Cqe.BYTES;
    expect(deviceErrorCode(r.read32(at + Cqe.STATUS))).toBe('QUEUE');
    produced.add('QUEUE');
  });

  it('covered every code', () => {
    const all = Object.values(Err)
      .filter((n) => n !== Err.OK && n !== Err.COUNT)
      .map(deviceErrorCode);
    expect(all.filter((c) => !produced.has(c))).toEqual([]);
  });
});
