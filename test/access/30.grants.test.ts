// Access grants through the GRM (ra-spec §18, docs/access.md): an allocation's instance reaches its
// slices through its grants only; a grant holder cannot reach another tenant's slice, never sees an
// owner key, and a grant is revoked before a release or migration is acknowledged. Results are
// checked against node:crypto and the adapters' memory files, not the GRM's word.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Instance } from '../../src/client/instance.js';
import { TenantWindow } from '../../src/client/window.js';
import type { Placement } from '../../src/common/model.js';
import { addon } from '../../src/driver/native.js';
import { MiB, useEmbedded } from '../grm/helpers.js';

const portOf = (adapter: string) => Number(adapter.split('/ra')[1]);

describe('access grants', () => {
  const ctx = useEmbedded(3, 256 * MiB);
  const grm = () => ctx.pool.grm;
  /** The bytes of a placement as the adapter's memory file holds them (the agent's view; no grant open). */
  const memoryOf = (adapter: string, offset: number, bytes: number): Buffer => {
    const m = new (addon().HostMapping)(
      path.join(ctx.pool.modelDir, `ra${portOf(adapter)}.mem`),
      offset,
      bytes,
      false,
    );
    try {
      return Buffer.from(new Uint8Array(m.buffer));
    } finally {
      m.close();
    }
  };

  /**
   * The bytes of a granted placement as the adapter holds them while the grant lasts: in the slice's
   * grant file (ra-spec §18.7), where its DMA engine and engines read and write them.
   */
  const grantFileOf = (p: Placement, offset: number, bytes: number): Buffer => {
    expect(p.grant?.memory?.path).toMatch(new RegExp(`\\.tw\\d+-[0-9a-f]{32}\\.m${p.slice}$`));
    const m = new (addon().HostMapping)(p.grant!.memory!.path, p.grant!.memory!.base + offset, bytes, false);
    try {
      return Buffer.from(new Uint8Array(m.buffer));
    } finally {
      m.close();
    }
  };

  it('maps memory, copies between two adapters and runs sha256 through the grants, checked from memory', async () => {
    const a = await grm().allocate('alice', {
      resources: [
        { kind: 'memory', bytes: 4 * MiB },
        { kind: 'memory', bytes: 4 * MiB },
        { kind: 'accelerator', function: 'sha256' },
      ],
    });
    // the two memory slices on two adapters, so the copy crosses the fabric (ra-spec §8.9)
    const first = a.resources[0]!.placements[0]!.adapter;
    if (a.resources[1]!.placements[0]!.adapter === first) {
      const other = ['ra0', 'ra1', 'ra2'].map((r) => `${first.split('/')[0]}/${r}`).find((x) => x !== first)!;
      await grm().migrate('alice', a.id, 1, [other]);
    }
    const granted = await grm().grants('alice', a.id);
    const [m0, m1, acc] = granted.resources.map((r) => r.placements[0]!);
    expect(m0!.adapter).not.toBe(m1!.adapter);
    for (const p of [m0!, m1!, acc!]) expect(p.grant).toMatchObject({ adapter: p.adapter, slice: p.slice });
    const inst = Instance.open(granted);
    try {
      const mem = inst.map(m0!);
      const data = randomBytes(1 * MiB);
      mem.bytes.set(data, 4096);
      await inst.copy({ ...m0!, offset: 4096 }, { ...m1!, offset: 0 }, data.length);
      expect(grantFileOf(m1!, 0, data.length).equals(data)).toBe(true);
      const done = await inst.job(acc!, { ...m1!, offset: 0 }, { ...m0!, offset: 2 * MiB }, data.length);
      expect(done.outBytes).toBe(32);
      const digest = createHash('sha256').update(data).digest();
      expect(Buffer.from(mem.bytes.subarray(2 * MiB, 2 * MiB + 32)).equals(digest)).toBe(true);
      expect(grantFileOf(m0!, 2 * MiB, 32).equals(digest)).toBe(true);
    } finally {
      inst.close();
      await grm().release('alice', a.id);
    }
  });

  it('maps a part of a slice (a mapping holds at most 4 GiB); a part outside the slice or off a page is refused', async () => {
    const a = await grm().allocate('alice', { resources: [{ kind: 'memory', bytes: 8 * MiB }] });
    const granted = await grm().grants('alice', a.id);
    const p = granted.resources[0]!.placements[0]!;
    const inst = Instance.open(granted);
    try {
      const part = inst.map(p, { offset: 4 * MiB, bytes: MiB });
      expect(part.length).toBe(MiB);
      const data = randomBytes(MiB);
      part.bytes.set(data, 0);
      expect(grantFileOf(p, 4 * MiB, MiB).equals(data)).toBe(true);
      for (const bad of [
        { offset: 7 * MiB, bytes: 2 * MiB },
        { offset: 100, bytes: 4096 },
        { offset: 0, bytes: 0 },
        { offset: -4096, bytes: 4096 },
      ])
        expect(() => inst.map(p, bad), JSON.stringify(bad)).toThrow(
          expect.objectContaining({ code: 'GRANT_INVALID' }),
        );
    } finally {
      inst.close();
      await grm().release('alice', a.id);
    }
  });

  it("a grant holder cannot read or change another tenant's slice and sees no owner key", async () => {
    const mine = await grm().grants(
      'alice',
      (await grm().allocate('alice', { resources: [{ kind: 'memory', bytes: 2 * MiB }] })).id,
    );
    const theirs = await grm().allocate('bob', { resources: [{ kind: 'memory', bytes: 2 * MiB }] });
    const p = mine.resources[0]!.placements[0]!;
    const q = theirs.resources[0]!.placements[0]!;
    const inst = Instance.open(mine);
    try {
      const before = createHash('sha256')
        .update(memoryOf(q.adapter, q.offset!, 2 * MiB))
        .digest('hex');
      const w = inst.window(p.adapter);
      const B = { port: portOf(q.adapter), slice: q.slice };
      const A = { port: portOf(p.adapter), slice: p.slice };
      await expect(
        w.submit([{ op: 'copy', src: B, srcOffset: 0, dst: A, dstOffset: 0, bytes: 4096 }]),
      ).rejects.toMatchObject({
        code: 'OWNER_KEY',
      });
      await expect(
        w.submit([{ op: 'fill', dst: B, dstOffset: 0, bytes: 4096, value: 1 }]),
      ).rejects.toMatchObject({
        code: 'OWNER_KEY',
      });
      expect(() => inst.map(q)).toThrow(expect.objectContaining({ code: 'NOT_GRANTED' }));
      expect(
        createHash('sha256')
          .update(memoryOf(q.adapter, q.offset!, 2 * MiB))
          .digest('hex'),
      ).toBe(before);
      // neither key appears anywhere in what the grant gives: the allocation view nor the window file
      for (const id of [mine.id, theirs.id]) {
        const key = grm().allocations.get(id)!.ownerKey;
        const le = Buffer.alloc(8);
        le.writeBigUInt64LE(BigInt(`0x${key}`));
        expect(readFileSync(p.grant!.window).indexOf(le)).toBe(-1);
        expect(JSON.stringify(mine)).not.toContain(key);
      }
    } finally {
      inst.close();
      await grm().release('alice', mine.id);
      await grm().release('bob', theirs.id);
    }
  });

  it('revokes the grant before the release is acknowledged; the next owner of the bytes is untouched', async () => {
    const a = await grm().grants(
      'alice',
      (await grm().allocate('alice', { resources: [{ kind: 'memory', bytes: 64 * MiB }] })).id,
    );
    const p = a.resources[0]!.placements[0]!;
    const inst = Instance.open(a);
    const w = inst.window(p.adapter);
    const A = { port: portOf(p.adapter), slice: p.slice };
    // a 64 MiB fill in flight while the release runs
    const inflight = w.submit([{ op: 'fill', dst: A, dstOffset: 0, bytes: 64 * MiB, value: 0xee }]).then(
      () => 'OK',
      (e: { code: string }) => e.code,
    );
    await grm().release('alice', a.id);
    expect(w.revoked).toBe(true); // before anyone heard "released"
    expect(existsSync(p.grant!.window)).toBe(false);
    expect(['OK', 'GRANT_REVOKED']).toContain(await inflight);
    await expect(
      w.submit([{ op: 'fill', dst: A, dstOffset: 0, bytes: 4096, value: 1 }]),
    ).rejects.toMatchObject({
      code: 'GRANT_REVOKED',
    });
    expect(() => TenantWindow.open(p.grant!.window)).toThrow(
      expect.objectContaining({ code: 'GRANT_REVOKED' }),
    );
    // bob gets memory (the same bytes if the planner reuses them); alice's old window reaches nothing
    const b = await grm().allocate('bob', { resources: [{ kind: 'memory', bytes: 64 * MiB }] });
    const q = b.resources[0]!.placements[0]!;
    const raw = Buffer.alloc(64);
    raw.writeUInt8(3, 0);
    raw.writeUInt32LE(((1 << 28) | (portOf(q.adapter) << 16) | q.slice) >>> 0, 0x14);
    raw.writeBigUInt64LE(4096n, 0x28);
    raw.writeUInt8(0x77, 0x30);
    const tail = w.regs.read32(0x40 + 0x04);
    w.regs.writeBytes(0x1000 + (tail & (w.depth - 1)) * 64, raw);
    w.regs.write32(0x40 + 0x04, tail + 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(memoryOf(q.adapter, q.offset!, 4096).every((x) => x === 0)).toBe(true);
    inst.close();
    await grm().release('bob', b.id);
  });

  it('revokes grants on migration; the new grant reaches the moved contents', async () => {
    const a = await grm().grants(
      'alice',
      (await grm().allocate('alice', { resources: [{ kind: 'memory', bytes: 2 * MiB }] })).id,
    );
    const from = a.resources[0]!.placements[0]!;
    const inst = Instance.open(a);
    const data = randomBytes(4096);
    inst.map(from).bytes.set(data, 0);
    const target = ['ra0', 'ra1', 'ra2']
      .map((r) => `${from.adapter.split('/')[0]}/${r}`)
      .find((x) => x !== from.adapter)!;
    await grm().migrate('alice', a.id, 0, [target]);
    expect(inst.window(from.adapter).revoked).toBe(true);
    inst.close();
    const again = Instance.open(await grm().grants('alice', a.id));
    try {
      const to = (await grm().grants('alice', a.id)).resources[0]!.placements[0]!;
      expect(to.adapter).toBe(target);
      expect(Buffer.from(again.map(to).bytes.subarray(0, 4096)).equals(data)).toBe(true);
    } finally {
      again.close();
      await grm().release('alice', a.id);
    }
  });
});
