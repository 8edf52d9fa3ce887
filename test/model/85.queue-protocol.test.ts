// Datasheet rules that only a client driving the rings and mailbox by hand can see (ported from the
// former native/model/tools/ra-smoke.c): a chain waits for its last descriptor (§8.5), a full
// completion ring stops consumption (§8.1), QCB_AWAKE while the adapter polls (§8.6), one queue's
// big copy does not starve another's small one (§8.8), a failed command leaves REG_ERROR alone
// (§4, §5.2), host regions never alias hidden files or the adapter's own files (§11), unknown fault
// values do nothing (§6) and bytes after an image do not fail its load (§5.4).
import { linkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Adapter } from '../../src/driver/adapter.js';
import { DmaController, encodeLocation } from '../../src/driver/dma.js';
import { Bar, Cmd, Cqe, Desc, Err, Load, Op, Qcb, Reg, Ring, Vec } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { MiB, randomKey, testImage, useModel } from '../helpers/model.js';

const depth = 4;

/** A DMA queue claimed and driven through its registers, without the driver's DmaController. */
class RawQueue {
  readonly q: number;
  private tail: number;
  constructor(private readonly a: Adapter) {
    let q = -1;
    for (let i = 0; i < a.identity.queues && q < 0; i++)
      if (a.regs.compareExchange32(Bar.QUEUES + i * Qcb.STRIDE + Qcb.OWNER, 0, a.peerId + 1) === 0) q = i;
    if (q < 0) throw new Error('no free queue');
    this.q = q;
    this.tail = this.reg(Qcb.SQ_TAIL);
    a.regs.write32(this.qcb(Qcb.CQ_HEAD), this.reg(Qcb.CQ_TAIL));
  }
  qcb(field: number): number {
    return Bar.QUEUES + this.q * Qcb.STRIDE + field;
  }
  reg(field: number): number {
    return this.a.regs.read32(this.qcb(field));
  }
  /** Writes a one-byte FILL at the tail (not yet published). */
  writeFill(ownerKey: bigint, slice: number, offset: number, value: number, chain = false): void {
    const at = Bar.RINGS + this.q * Ring.STRIDE + (this.tail & (depth - 1)) * Desc.BYTES;
    const v = new DataView(this.a.regs.buffer);
    new Uint8Array(this.a.regs.buffer, at, Desc.BYTES).fill(0);
    v.setUint8(at + Desc.OPCODE, Op.FILL);
    v.setUint8(at + Desc.FLAGS, chain ? Desc.F_CHAIN : 0);
    v.setBigUint64(at + Desc.OWNER_KEY, ownerKey, true);
    v.setUint32(at + Desc.DST_LOC, encodeLocation({ adapter: this.a.identity.fabricId, slice }), true);
    v.setBigUint64(at + Desc.DST_OFFSET, BigInt(offset), true);
    v.setBigUint64(at + Desc.LENGTH, 1n, true);
    v.setUint8(at + Desc.PARAMS, value);
    this.tail = (this.tail + 1) >>> 0;
  }
  /** Publishes the tail and rings the doorbell. */
  publish(): void {
    this.a.regs.write32(this.qcb(Qcb.SQ_TAIL), this.tail);
    this.a.ring(Vec.QUEUE0 + this.q);
  }
  cqeStatus(index: number): number {
    const at = Bar.RINGS + this.q * Ring.STRIDE + Ring.CQ_OFFSET + (index & (depth - 1)) * Cqe.BYTES;
    return this.a.regs.read32(at + Cqe.STATUS);
  }
  release(): void {
    this.a.regs.write32(this.qcb(Qcb.POLL_US), 0);
    this.a.regs.compareExchange32(this.qcb(Qcb.OWNER), this.a.peerId + 1, 0);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually(cond: () => boolean, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) return false;
    await sleep(2);
  }
  return true;
}

describe('queue and mailbox protocol by hand', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 512 * MiB, extraArgs: ['--ring-depth', String(depth)] });
  const key = randomKey();
  let mem: number;
  let big: number;
  const a = () => pool.adapters[0]!;

  beforeAll(async () => {
    mem = await new Slices(a()).program({ kind: 'memory', ownerKey: key, base: 0, length: 2 * MiB });
    big = await new Slices(a()).program({ kind: 'memory', ownerKey: key, base: 64 * MiB, length: 256 * MiB });
  });

  it('a chain is not started before its last descriptor is submitted (§8.5)', async () => {
    const rq = new RawQueue(a());
    try {
      const head = rq.reg(Qcb.SQ_HEAD);
      const done = rq.reg(Qcb.CQ_TAIL);
      rq.writeFill(key, mem, 0, 1, true);
      rq.publish();
      await sleep(50);
      expect(rq.reg(Qcb.SQ_HEAD)).toBe(head);
      expect(rq.reg(Qcb.CQ_TAIL)).toBe(done);
      rq.writeFill(key, mem, 1, 2);
      rq.publish();
      expect(await eventually(() => rq.reg(Qcb.CQ_TAIL) === done + 1)).toBe(true);
      expect(rq.reg(Qcb.SQ_HEAD)).toBe(head + 2);
      expect(rq.cqeStatus(done)).toBe(Err.OK);
      await sleep(20);
      expect(rq.reg(Qcb.CQ_TAIL)).toBe(done + 1); // one completion for the chain
    } finally {
      rq.release();
    }
  });

  it('a full completion ring stops consumption until the driver frees it (§8.1)', async () => {
    const rq = new RawQueue(a());
    try {
      const cqHead = rq.reg(Qcb.CQ_HEAD);
      for (let i = 0; i < depth; i++) rq.writeFill(key, mem, i, i);
      rq.publish();
      expect(await eventually(() => rq.reg(Qcb.CQ_TAIL) === cqHead + depth)).toBe(true);
      const head = rq.reg(Qcb.SQ_HEAD);
      rq.writeFill(key, mem, 10, 10);
      rq.publish();
      await sleep(50);
      expect(rq.reg(Qcb.SQ_HEAD)).toBe(head); // not consumed: no room for its completion
      expect(rq.reg(Qcb.CQ_TAIL)).toBe(cqHead + depth);
      a().regs.write32(rq.qcb(Qcb.CQ_HEAD), cqHead + depth);
      a().ring(Vec.QUEUE0 + rq.q);
      expect(await eventually(() => rq.reg(Qcb.CQ_TAIL) === cqHead + depth + 1)).toBe(true);
      expect(rq.cqeStatus(cqHead + depth)).toBe(Err.OK);
    } finally {
      rq.release();
    }
  });

  it('QCB_AWAKE is 1 while the adapter polls a queue after work and 0 after POLL_US (§8.6)', async () => {
    const rq = new RawQueue(a());
    try {
      a().regs.write32(rq.qcb(Qcb.POLL_US), 300_000);
      const done = rq.reg(Qcb.CQ_TAIL);
      rq.writeFill(key, mem, 0, 7);
      rq.publish();
      expect(await eventually(() => rq.reg(Qcb.CQ_TAIL) === done + 1)).toBe(true);
      expect(rq.reg(Qcb.AWAKE)).toBe(1);
      expect(await eventually(() => rq.reg(Qcb.AWAKE) === 0, 3000)).toBe(true);
    } finally {
      rq.release();
    }
  });

  it("one queue's big copy does not hold back another queue's small one (§8.8)", async () => {
    const bulk = new DmaController(a());
    const quick = new DmaController(a());
    try {
      const s = { adapter: 0, slice: big };
      let bigDone = false;
      const copying = bulk
        .submit({
          op: 'copy',
          ownerKey: key,
          src: s,
          srcOffset: 0,
          dst: s,
          dstOffset: 128 * MiB,
          bytes: 128 * MiB,
        })
        .then(() => {
          bigDone = true;
        });
      await quick.submit({
        op: 'fill',
        ownerKey: key,
        dst: { adapter: 0, slice: mem },
        dstOffset: 0,
        bytes: 1,
        value: 1,
      });
      expect(bigDone).toBe(false);
      await copying;
    } finally {
      bulk.close();
      quick.close();
    }
  });

  it('a failed admin command leaves REG_ERROR alone (§4, §5.2)', async () => {
    const before = a().regs.read32(Reg.ERROR);
    await expect(a().command(0x7f)).rejects.toMatchObject({ code: 'BAD_OPCODE' });
    expect(a().regs.read32(Reg.ERROR)).toBe(before);
  });

  it("host regions refuse hidden names and the adapter's own files, also under another name (§11)", async () => {
    const dir = a().directory;
    writeFileSync(path.join(dir, '.hidden-region'), Buffer.alloc(4096));
    linkSync(path.join(dir, 'ra0.mem'), path.join(dir, 'innocent.buf'));
    for (const name of ['.hidden-region', 'ra0.mem', 'ra0.bar', 'innocent.buf']) {
      await expect(
        a().command(Cmd.HOSTMEM_REGISTER, { args: [0, 4096], data: Buffer.from(`${name}\0`) }),
      ).rejects.toMatchObject({ code: 'HOSTMEM' });
    }
    expect(a().regs.read32(Bar.HOSTMEM)).toBe(0); // handle 0 still unused
  });

  it('an unknown fault value is consumed without effect (§6)', async () => {
    const hits = a().regs.read32(Reg.DEBUG_FAULTS_HIT);
    a().injectFault(77);
    expect(await eventually(() => a().regs.read32(Reg.DEBUG_FAULT) === 0)).toBe(true);
    expect(a().regs.read32(Reg.DEBUG_FAULTS_HIT)).toBe(hits);
    await a().nop(); // still answering
  });

  it('bytes after an image in the staging window are ignored by SLOT_LOAD (§5.4)', async () => {
    const image = testImage('crc32c', { name: 'tail' });
    await a().command(Cmd.SLOT_LOAD, {
      args: [3, Load.SRC_STAGING, image.length + 50],
      beforePost: () => a().writeStaging(Buffer.concat([image, Buffer.alloc(50, 0xee)])),
    });
    expect(new Slots(a()).list()[3]).toMatchObject({ state: 'ready', function: 'crc32c', imageName: 'tail' });
  });
});
