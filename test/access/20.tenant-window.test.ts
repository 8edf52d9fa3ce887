// Tenant windows (ra-spec §18): a window shows its holder only its grants, never an owner key; the
// model forwards only granted locations; a closed window is revoked; any value written anywhere in
// a window leaves the model up and other tenants' slices and bytes as they were (seeded fuzz).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantDescriptor } from '../../src/client/descriptors.js';
import { MappedSlice } from '../../src/client/memory.js';
import { TenantWindow } from '../../src/client/window.js';
import type { RaError } from '../../src/driver/errors.js';
import { addon } from '../../src/driver/native.js';
import { Bar, Qcb, Slice, Tw } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { TenantWindows } from '../../src/driver/tenants.js';
import { MiB, randomKey, testImage, useModel } from '../helpers/model.js';
import { Prng } from '../helpers/prng.js';

/** Writes one raw descriptor into the window's SQ and spins for its CQE (test-only: any bytes). */
async function rawSubmit(w: TenantWindow, desc: Uint8Array): Promise<{ cookie: number; status: number }> {
  const r = w.regs;
  const tail = r.read32(Tw.SQ_TAIL);
  const cq = r.read32(Tw.CQ_TAIL);
  r.writeBytes(Tw.SQ + (tail & (w.depth - 1)) * 64, desc);
  r.write32(Tw.SQ_TAIL, tail + 1);
  const deadline = Date.now() + 5000;
  while (r.read32(Tw.CQ_TAIL) === cq) {
    if (Date.now() > deadline) throw new Error('no completion for the raw descriptor');
    await new Promise((res) => setTimeout(res, 1));
  }
  const at = Tw.CQ + (cq & (w.depth - 1)) * 16;
  r.write32(Tw.CQ_HEAD, cq + 1);
  return { cookie: r.read32(at), status: r.read32(at + 4) };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('tenant windows', () => {
  const pool = useModel({ adapters: 2, memoryBytes: 64 * MiB });
  const k1 = randomKey(); // tenant 1
  const k2 = randomKey(); // tenant 2
  let a1: number; // tenant 1: memory slice on adapter 0
  let c1: number; // tenant 1: sha256 context on adapter 0
  let r1: number; // tenant 1: memory slice on adapter 1 (fabric)
  let b2: number; // tenant 2: memory slice on adapter 0
  let agentMem: Uint8Array; // the agent's view of adapter 0's whole memory
  let mapping: { close(): void };
  const port = (i: number) => pool.adapters[i]!.identity.fabricId;
  const memPath = (i: number) => path.join(pool.model.dir, `ra${i}.mem`);

  beforeAll(async () => {
    const [ad0, ad1] = pool.adapters as [
      NonNullable<(typeof pool.adapters)[0]>,
      NonNullable<(typeof pool.adapters)[0]>,
    ];
    const s0 = new Slices(ad0);
    a1 = await s0.program({ kind: 'memory', ownerKey: k1, base: 0, length: 4 * MiB });
    b2 = await s0.program({ kind: 'memory', ownerKey: k2, base: 4 * MiB, length: 4 * MiB });
    await new Slots(ad0).load(0, testImage('sha256'));
    c1 = await s0.program({ kind: 'context', ownerKey: k1, base: 0, length: 1, slot: 0 });
    r1 = await new Slices(ad1).program({ kind: 'memory', ownerKey: k1, base: 8 * MiB, length: 2 * MiB });
    const m = new (addon().HostMapping)(memPath(0), 0, 64 * MiB, false);
    mapping = m;
    agentMem = new Uint8Array(m.buffer);
  });
  afterAll(() => mapping?.close());

  const grants1 = () => [
    { port: port(0), slice: a1 },
    { port: port(0), slice: c1 },
    { port: port(1), slice: r1 },
  ];

  it('opens a window that lists the grants with their placement and holds no owner key', async () => {
    const tw = new TenantWindows(pool.adapters[0]!);
    const opened = await tw.open(k1, grants1());
    const w = TenantWindow.open(opened.path);
    try {
      expect(w.grants).toEqual([
        { port: port(0), slice: a1, kind: 'memory', base: 0, length: 4 * MiB },
        { port: port(0), slice: c1, kind: 'context', base: 0, length: 1 },
        { port: port(1), slice: r1, kind: 'memory', base: 8 * MiB, length: 2 * MiB },
      ]);
      const file = readFileSync(opened.path);
      for (const k of [k1, k2]) {
        const le = Buffer.alloc(8);
        le.writeBigUInt64LE(k);
        expect(file.indexOf(le)).toBe(-1);
      }
      // the queue is the window's (§18.3 QCB_OWNER), not a peer's
      const owner = pool.adapters[0]!.regs.read32(Bar.QUEUES + opened.queue * Qcb.STRIDE + Qcb.OWNER);
      expect(owner).toBe(0x10000 + opened.window);
    } finally {
      w.close();
      await tw.close(opened.window, k1);
    }
  });

  it('runs fills, copies across the fabric and a sha256 job on granted slices, checked from memory', async () => {
    const tw = new TenantWindows(pool.adapters[0]!);
    const opened = await tw.open(k1, grants1());
    const w = TenantWindow.open(opened.path);
    // the holder maps its slice's grant file (ra-spec §18.7), never the adapter memory file
    const mine = MappedSlice.map(`${opened.memoryPrefix}${a1}`, a1, 0, 4 * MiB);
    const remote = MappedSlice.map(memPath(1), r1, 8 * MiB, 2 * MiB);
    const data = randomBytes(1 * MiB);
    const sha256Input = data;
    try {
      mine.bytes.set(data, 0);
      const A = { port: port(0), slice: a1 };
      const R = { port: port(1), slice: r1 };
      await w.submit([{ op: 'copy', src: A, srcOffset: 0, dst: R, dstOffset: 4096, bytes: data.length }]);
      expect(Buffer.from(remote.bytes.subarray(4096, 4096 + data.length)).equals(data)).toBe(true);
      const done = await w.submit([
        { op: 'job', ctxSlice: c1, src: R, srcOffset: 4096, dst: A, dstOffset: 2 * MiB, bytes: data.length },
      ]);
      expect(done.outBytes).toBe(32);
      expect(Buffer.from(mine.bytes.subarray(2 * MiB, 2 * MiB + 32)).toString('hex')).toBe(sha(data));
      await w.submit([{ op: 'fill', dst: A, dstOffset: 100, bytes: 50, value: 0xab }]);
      expect([...mine.bytes.subarray(99, 151)]).toEqual([data[99], ...Array(50).fill(0xab), data[150]]);
    } finally {
      mine.close();
      remote.close();
      w.close();
      await tw.close(opened.window, k1);
    }
    // revoked: the slice's bytes are back in the adapter memory file (the agent's view)
    expect(Buffer.from(agentMem.subarray(2 * MiB, 2 * MiB + 32)).toString('hex')).toBe(sha(sha256Input));
  });

  it("refuses what was not granted (another tenant's slice, a host region, a context) and writes nothing", async () => {
    const tw = new TenantWindows(pool.adapters[0]!);
    const opened = await tw.open(k1, [{ port: port(0), slice: a1 }]);
    const w = TenantWindow.open(opened.path);
    const held = MappedSlice.map(`${opened.memoryPrefix}${a1}`, a1, 0, 4096); // a1 while granted
    try {
      agentMem.fill(0x5a, 4 * MiB, 4 * MiB + 4096);
      const before = sha(agentMem.subarray(4 * MiB, 8 * MiB));
      const A = { port: port(0), slice: a1 };
      const B = { port: port(0), slice: b2 };
      const refused = async (d: TenantDescriptor[]) =>
        (await w.submit(d).catch((e: RaError) => e)) as RaError;
      expect(
        (await refused([{ op: 'copy', src: A, srcOffset: 0, dst: B, dstOffset: 0, bytes: 4096 }])).code,
      ).toBe('OWNER_KEY');
      expect(
        (await refused([{ op: 'copy', src: B, srcOffset: 0, dst: A, dstOffset: 0, bytes: 4096 }])).code,
      ).toBe('OWNER_KEY');
      expect((await refused([{ op: 'fill', dst: B, dstOffset: 0, bytes: 4096, value: 1 }])).code).toBe(
        'OWNER_KEY',
      );
      // a chain with one foreign descriptor: nothing of it runs
      held.bytes.fill(0);
      const chain = await refused([
        { op: 'fill', dst: A, dstOffset: 0, bytes: 4096, value: 7 },
        { op: 'fill', dst: B, dstOffset: 0, bytes: 4096, value: 7 },
      ]);
      expect(chain.code).toBe('OWNER_KEY');
      expect(held.bytes.every((b) => b === 0)).toBe(true);
      expect(
        (await refused([{ op: 'job', ctxSlice: c1, src: A, srcOffset: 0, dst: A, dstOffset: 0, bytes: 64 }]))
          .code,
      ).toBe('OWNER_KEY');
      // a host location, written as raw words: the client library cannot even encode one
      const raw = Buffer.alloc(64);
      raw.writeUInt8(3, 0); // OP_FILL
      raw.writeUInt32LE(7, 4); // cookie
      raw.writeUInt32LE(((2 << 28) | (0 << 16)) >>> 0, 0x14); // DST = LOC_HOST, handle 0
      raw.writeBigUInt64LE(4096n, 0x28);
      expect(await rawSubmit(w, raw)).toMatchObject({ cookie: 7, status: 17 }); // ERR_HOSTMEM
      expect(sha(agentMem.subarray(4 * MiB, 8 * MiB))).toBe(before);
      expect(new Slices(pool.adapters[0]!).read(b2)).toMatchObject({
        state: 'active',
        ownerKey: k2,
        base: 4 * MiB,
      });
    } finally {
      held.close();
      w.close();
      await tw.close(opened.window, k1);
    }
  });

  it('a closed window is revoked at once: typed error, file gone, queue free, later writes reach nothing', async () => {
    const ad0 = pool.adapters[0]!;
    const tw = new TenantWindows(ad0);
    const opened = await tw.open(k1, [{ port: port(0), slice: a1 }]);
    const w = TenantWindow.open(opened.path);
    const A = { port: port(0), slice: a1 };
    await w.submit([{ op: 'fill', dst: A, dstOffset: 0, bytes: 4096, value: 1 }]);
    await tw.close(opened.window, k1);
    expect(w.revoked).toBe(true);
    await expect(
      w.submit([{ op: 'fill', dst: A, dstOffset: 0, bytes: 4096, value: 2 }]),
    ).rejects.toMatchObject({
      code: 'GRANT_REVOKED',
    });
    expect(existsSync(opened.path)).toBe(false);
    expect(() => TenantWindow.open(opened.path)).toThrow(expect.objectContaining({ code: 'GRANT_REVOKED' }));
    expect(ad0.regs.read32(Bar.QUEUES + opened.queue * Qcb.STRIDE + Qcb.OWNER)).toBe(0);
    // the old holder keeps its mapping and writes a fill straight into the ring: nothing takes it
    agentMem.fill(0, 0, 4096);
    const raw = Buffer.alloc(64);
    raw.writeUInt8(3, 0);
    raw.writeUInt32LE(((1 << 28) | (port(0) << 16) | a1) >>> 0, 0x14);
    raw.writeBigUInt64LE(4096n, 0x28);
    raw.writeUInt8(9, 0x30);
    const tail = w.regs.read32(Tw.SQ_TAIL);
    w.regs.writeBytes(Tw.SQ + (tail & (w.depth - 1)) * 64, raw);
    w.regs.write32(Tw.SQ_TAIL, tail + 1);
    await new Promise((r) => setTimeout(r, 50)); // ten heartbeat periods
    expect(agentMem.subarray(0, 4096).every((b) => b === 0)).toBe(true);
    expect(w.regs.read32(Tw.SQ_HEAD)).toBe(tail);
    w.close();
  });

  it('survives random values at random offsets of a window for 5 s (seeded); other tenants unchanged', async () => {
    const seed = 0x13acce55;
    const prng = new Prng(seed);
    const ad0 = pool.adapters[0]!;
    const tw = new TenantWindows(ad0);
    const opened = await tw.open(k1, grants1());
    const w = TenantWindow.open(opened.path);
    const mem1 = new (addon().HostMapping)(memPath(1), 0, 64 * MiB, false);
    const other1 = new Uint8Array(mem1.buffer);
    try {
      agentMem.set(randomBytes(4 * MiB), 4 * MiB); // tenant 2's bytes
      const entry = (i: number) =>
        Buffer.from(ad0.regs.readBytes(Bar.SLICES + i * Slice.STRIDE, Slice.STRIDE));
      const before = {
        b2Bytes: sha(agentMem.subarray(4 * MiB, 8 * MiB)),
        restBytes: sha(agentMem.subarray(8 * MiB)),
        b2Entry: entry(b2),
        other1: sha(other1.subarray(0, 8 * MiB)) + sha(other1.subarray(10 * MiB)),
      };
      const regs = w.regs;
      const slices = [a1, b2, c1, r1, 0, 1, 2, 3, 255, 0xffff];
      const ports = [port(0), port(1), 7, 0xfff];
      const word = () =>
        prng.pick([0, 1, 0xffffffff, 0x80000000, prng.int(0, 0xffffffff), prng.int(0, 300)]) >>> 0;
      const loc = () =>
        prng.chance(0.8)
          ? ((prng.pick([1, 1, 1, 2, 0, 15]) << 28) | (prng.pick(ports) << 16) | prng.pick(slices)) >>> 0
          : word();
      const descriptor = () => {
        const d = Buffer.alloc(64);
        const kind = prng.next();
        if (kind < 0.2) return randomBytes(64);
        if (kind < 0.45) {
          // well-formed work on the tenant's own slices (local and across the fabric)
          const mine = [
            [port(0), a1],
            [port(1), r1],
          ] as const;
          const [sp, ss] = prng.pick(mine);
          const [dp, ds] = prng.pick(mine);
          d.writeUInt8(prng.pick([1, 3]), 0);
          d.writeUInt32LE(((1 << 28) | (sp << 16) | ss) >>> 0, 0x10);
          d.writeUInt32LE(((1 << 28) | (dp << 16) | ds) >>> 0, 0x14);
          d.writeBigUInt64LE(BigInt(prng.int(0, MiB)), 0x18);
          d.writeBigUInt64LE(BigInt(prng.int(0, MiB)), 0x20);
          d.writeBigUInt64LE(BigInt(prng.int(1, 65536)), 0x28);
          return d;
        }
        if (kind < 0.7) {
          // aimed: a well-formed fill of tenant 2's slice, carrying tenant 2's (stolen) key
          d.writeUInt8(3, 0);
          d.writeBigUInt64LE(k2, 8);
          d.writeUInt32LE(((1 << 28) | (port(0) << 16) | b2) >>> 0, 0x14);
          d.writeBigUInt64LE(BigInt(prng.int(0, 4 * MiB - 4096)), 0x20);
          d.writeBigUInt64LE(4096n, 0x28);
          d.writeUInt8(prng.int(1, 255), 0x30);
          return d;
        }
        d.writeUInt8(prng.pick([1, 2, 3, 0, 9]), 0);
        d.writeUInt8(prng.pick([0, 0, 0, 1, 2, 0xff]), 1);
        d.writeUInt16LE(prng.pick(slices), 2);
        d.writeUInt32LE(word(), 4);
        d.writeBigUInt64LE(prng.chance(0.5) ? k2 : BigInt(word()), 8); // a guessed or stolen key changes nothing
        d.writeUInt32LE(loc(), 0x10);
        d.writeUInt32LE(loc(), 0x14);
        d.writeBigUInt64LE(BigInt(prng.pick([0, 4096, 4 * MiB - 1, prng.int(0, 2 ** 31)])), 0x18);
        d.writeBigUInt64LE(BigInt(prng.pick([0, 4096, 4 * MiB - 1, prng.int(0, 2 ** 31)])), 0x20);
        d.writeBigUInt64LE(prng.pick([0n, 1n, 4096n, 1n << 20n, 1n << 44n, (1n << 64n) - 1n]), 0x28);
        return d;
      };
      let writes = 0;
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        for (let n = 0; n < 64; n++, writes++) {
          const pick = prng.int(0, 99);
          if (pick < 30) {
            // any 32-bit word of the window: header, grant table, rings (queue fields: rarely)
            let off = prng.int(0, Tw.BYTES / 4 - 1) * 4;
            if (off >= Tw.SQ_TAIL && off < Tw.SQ_HEAD + Tw.LINE_BYTES && prng.chance(0.9)) off = Tw.GRANTS;
            regs.write32(off, word());
          } else if (pick < 99) {
            const tail = regs.read32(Tw.SQ_TAIL);
            regs.writeBytes(Tw.SQ + (tail & (w.depth - 1)) * 64, descriptor());
            regs.write32(Tw.SQ_TAIL, prng.chance(0.98) ? tail + 1 : word());
          } else {
            const field = prng.pick([Tw.CQ_HEAD, Tw.POLL_US, Tw.SQ_HEAD, Tw.CQ_TAIL, Tw.SQ_TAIL, Tw.AWAKE]);
            regs.write32(field, word());
          }
        }
        // a tenant that repairs its own queue after each burst (indices it broke stall only its window)
        {
          regs.write32(Tw.CQ_HEAD, regs.read32(Tw.CQ_TAIL));
          const head = regs.read32(Tw.SQ_HEAD);
          if ((regs.read32(Tw.SQ_TAIL) - head) >>> 0 > w.depth) regs.write32(Tw.SQ_TAIL, head);
        }
        await new Promise((r) => setTimeout(r, 1)); // let the model take what was written
      }
      expect(writes).toBeGreaterThan(1000);
      // the fuzz reached the queue: chains were forwarded and the adapter ran (and refused) them
      const qcb = Bar.QUEUES + opened.queue * Qcb.STRIDE;
      const forwarded = ad0.regs.readNumber(qcb + Qcb.COMPLETED);
      console.log(
        `fuzz seed ${seed}: ${writes} writes, ${forwarded} chains forwarded, ${ad0.regs.readNumber(qcb + Qcb.ERRORS)} refused by the adapter`,
      );
      expect(forwarded).toBeGreaterThan(100);
      expect(pool.model.child.exitCode).toBe(null);
      expect(pool.model.child.signalCode).toBe(null);
      await ad0.nop();
      await tw.close(opened.window, k1);
      // other tenants' slices and bytes, from the register file and the memory files
      expect(entry(b2).equals(before.b2Entry)).toBe(true);
      expect(sha(agentMem.subarray(4 * MiB, 8 * MiB))).toBe(before.b2Bytes);
      expect(sha(agentMem.subarray(8 * MiB))).toBe(before.restBytes);
      expect(sha(other1.subarray(0, 8 * MiB)) + sha(other1.subarray(10 * MiB))).toBe(before.other1);
      // the adapter still works for the next window
      const again = await tw.open(k1, grants1());
      const w2 = TenantWindow.open(again.path);
      try {
        const A = { port: port(0), slice: a1 };
        await w2.submit([{ op: 'fill', dst: A, dstOffset: 0, bytes: 4096, value: 0x11 }]);
      } finally {
        w2.close();
        await tw.close(again.window, k1);
      }
      expect(agentMem.subarray(0, 4096).every((b) => b === 0x11)).toBe(true); // back from the grant file
    } finally {
      w.close();
      mem1.close();
    }
  }, 30_000);
});
