// Issue 15 item 3: defragmentation by live migration on the embedded pool. One 64 MiB adapter holds
// A, B, C, D (16 MiB each); B and D are released, so 32 MiB is free but no extent holds it. A request
// for 32 MiB in one extent is admitted after a live slice moves; the moved bytes are read back from
// the adapter's memory file (not through the GRM or its DMA path) and compared by sha256; positions
// come from the slice table registers. A budget too small, pinned allocations and a copy that fails
// leave every allocation where and as it was.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentClient, inProcessChannel, serveAgent } from '../../src/agent/protocol.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { RaError } from '../../src/common/errors.js';
import { Adapter } from '../../src/driver/adapter.js';
import { copyInPieces } from '../../src/driver/copy.js';
import { DmaController } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { Grm } from '../../src/grm/grm.js';
import type { Allocation } from '../../src/grm/types.js';
import { MemoryStore } from '../../src/store/index.js';
import { MiB, overlaps, quietLog, readSliceTables, useEmbedded } from './helpers.js';

const SLICE_BYTES = 16 * MiB;
const BIG_BYTES = 2 * SLICE_BYTES;
const BUDGET_BYTES = 8 * MiB;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('defragmentation by live migration', () => {
  const ctx = useEmbedded(1, 4 * SLICE_BYTES);
  const tables = () => readSliceTables(ctx.pool.modelDir, 1);
  const grms: Grm[] = [];

  /** A GRM of its own on the pool's agent: a budget, and optionally a DMA copy that always fails. */
  function grmWith(o: { budgetBytes?: number; failCopy?: boolean } = {}): Grm {
    const handlers = ctx.pool.agent.handlers();
    const [grmSide, agentSide] = inProcessChannel();
    serveAgent(agentSide, {
      ...handlers,
      ...(o.failCopy
        ? {
            copy: async () => {
              throw new RaError('DMA_FAILED', 'injected: the migration copy fails');
            },
          }
        : {}),
    });
    const grm = new Grm({
      agents: [new AgentClient(grmSide, os.hostname())],
      store: new MemoryStore(),
      catalog: openShippedCatalog(),
      log: quietLog,
      ...(o.budgetBytes !== undefined ? { defragBudgetBytes: o.budgetBytes } : {}),
    });
    grms.push(grm);
    return grm;
  }

  async function releaseAll(grm: Grm): Promise<void> {
    for (const tenant of ['alice', 'bob']) for (const a of grm.list(tenant)) await grm.release(tenant, a.id);
    expect(tables()).toEqual([]);
  }

  const keyOf = (grm: Grm, a: Allocation) => BigInt(`0x${grm.allocations.get(a.id)!.ownerKey}`);

  /** The allocation's memory slice as the slice table holds it (found by its owner key). */
  function register(grm: Grm, a: Allocation) {
    const found = tables().filter((s) => s.ownerKey === keyOf(grm, a) && s.kind === 'memory');
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  /** Bytes of the adapter's memory, read from its memory file (the CXL.mem region's stand-in). */
  function memoryFile(base: number, length: number): Buffer {
    const fd = openSync(path.join(ctx.pool.modelDir, 'ra0.mem'), 'r');
    try {
      const out = Buffer.alloc(length);
      expect(readSync(fd, out, 0, length, base)).toBe(length);
      return out;
    } finally {
      closeSync(fd);
    }
  }

  /** Writes `data` into the allocation's slice as its tenant would: DMA from a host buffer, its key. */
  async function writeAsTenant(grm: Grm, a: Allocation, data: Buffer): Promise<void> {
    const dev = Adapter.open(`shm://${ctx.pool.modelDir}/ra0.sock`);
    const dma = new DmaController(dev);
    const host = await HostBuffer.create(dev, data.length);
    try {
      host.bytes.set(data);
      await copyInPieces(dma, dev.identity.maxTransferBytes, dev.identity.ringDepth, {
        op: 'copy',
        ownerKey: keyOf(grm, a),
        src: { host: host.handle },
        srcOffset: 0,
        dst: { adapter: dev.identity.fabricId, slice: a.resources[0]!.placements[0]!.slice },
        dstOffset: 0,
        bytes: data.length,
      });
    } finally {
      await host.close();
      dma.close();
      dev.close();
    }
  }

  /**
   * The allocation's slice as the adapter holds it, read by its DMA engine into a host buffer with the
   * tenant's key: the agent's view, wherever the bytes live (a granted slice's are in its grant file,
   * ra-spec §18.7).
   */
  async function readThroughAdapter(grm: Grm, a: Allocation, length: number): Promise<Buffer> {
    const dev = Adapter.open(`shm://${ctx.pool.modelDir}/ra0.sock`);
    const dma = new DmaController(dev);
    const host = await HostBuffer.create(dev, length);
    try {
      await copyInPieces(dma, dev.identity.maxTransferBytes, dev.identity.ringDepth, {
        op: 'copy',
        ownerKey: keyOf(grm, a),
        src: {
          adapter: dev.identity.fabricId,
          slice: grm.get('alice', a.id).resources[0]!.placements[0]!.slice,
        },
        srcOffset: 0,
        dst: { host: host.handle },
        dstOffset: 0,
        bytes: length,
      });
      return Buffer.from(host.bytes);
    } finally {
      await host.close();
      dma.close();
      dev.close();
    }
  }

  /**
   * A, B, C, D of 16 MiB in one extent each, B and D released: [A][ ][C][ ] by the registers. A and C
   * carry random contents (their sha256 returned). `pinned` allocations ask for policy.movable false.
   */
  async function fragment(grm: Grm, pinned: readonly ('A' | 'C')[] = []) {
    const made: Allocation[] = [];
    for (const name of ['A', 'B', 'C', 'D'] as const) {
      made.push(
        await grm.allocate('alice', {
          resources: [{ kind: 'memory', bytes: SLICE_BYTES }],
          policy: { allowSplit: false, ...(pinned.includes(name as 'A') ? { movable: false } : {}) },
        }),
      );
    }
    const [A, B, C, D] = made as [Allocation, Allocation, Allocation, Allocation];
    expect([A, B, C, D].map((x) => register(grm, x).base)).toEqual([0, 1, 2, 3].map((i) => i * SLICE_BYTES));
    await grm.release('alice', B.id);
    await grm.release('alice', D.id);
    const contents = { A: randomBytes(SLICE_BYTES), C: randomBytes(SLICE_BYTES) };
    await writeAsTenant(grm, A, contents.A);
    await writeAsTenant(grm, C, contents.C);
    const hash = { A: sha256(contents.A), C: sha256(contents.C) };
    // The writes landed where the registers say the slices are.
    expect(sha256(memoryFile(register(grm, A).base, SLICE_BYTES))).toBe(hash.A);
    expect(sha256(memoryFile(register(grm, C).base, SLICE_BYTES))).toBe(hash.C);
    return { A, C, hash };
  }

  const bigRequest = { resources: [{ kind: 'memory', bytes: BIG_BYTES }], policy: { allowSplit: false } };
  const placementsOf = (t: ReturnType<typeof tables>) =>
    t.map((s) => ({ entry: s.entry, base: s.base, length: s.length, key: s.ownerKey }));

  it('a fragmented pool admits a 32 MiB request after one live 16 MiB migration; the moved bytes are preserved', async () => {
    const grm = grmWith();
    const { A, C, hash } = await fragment(grm);
    const grantsBefore = await grm.grants('alice', C.id);
    // C's grant: its slice's own grant file (ra-spec §18.7)
    const cBefore = grantsBefore.resources[0]!.placements[0]!;
    expect(cBefore.offset).toBe(2 * SLICE_BYTES);
    expect(cBefore.grant?.memory).toMatchObject({ base: 0, bytes: SLICE_BYTES });
    expect(cBefore.grant?.memory?.path).toMatch(new RegExp(`\\.m${cBefore.slice}$`));

    const big = await grm.allocate('bob', bigRequest);

    // By the registers: no overlap, the big slice is one 32 MiB extent, exactly one of A and C moved.
    expect(overlaps(tables())).toEqual([]);
    expect(register(grm, big).length).toBe(BIG_BYTES);
    const after = { A: register(grm, A), C: register(grm, C) };
    const moved = [
      after.A.base !== 0 ? 'A' : undefined,
      after.C.base !== 2 * SLICE_BYTES ? 'C' : undefined,
    ].filter(Boolean);
    expect(moved).toHaveLength(1);
    // The bytes of both, read by the adapter from the slices its table holds (C's may be in its grant file).
    expect(sha256(await readThroughAdapter(grm, A, SLICE_BYTES))).toBe(hash.A);
    expect(sha256(await readThroughAdapter(grm, C, SLICE_BYTES))).toBe(hash.C);
    // The GRM's record names the slice the registers hold.
    for (const [x, r] of [
      [A, after.A],
      [C, after.C],
    ] as const) {
      const p = grm.get('alice', x.id).resources[0]!.placements[0]!;
      expect({ slice: p.slice, offset: p.offset, bytes: p.bytes }).toEqual({
        slice: r.entry,
        offset: r.base,
        bytes: r.length,
      });
    }
    // The moved allocation's tenant reads a 'migrated' event; the other has none; bob reads neither.
    const movedId = moved[0] === 'A' ? A.id : C.id;
    const stayedId = moved[0] === 'A' ? C.id : A.id;
    expect(grm.allocationEvents('alice', movedId)).toEqual([
      expect.objectContaining({ action: 'migrated', resource: 0 }),
    ]);
    expect(grm.allocationEvents('alice', stayedId)).toEqual([]);
    expect(() => grm.allocationEvents('bob', movedId)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
    expect(grm.lastDefragmentation()).toMatchObject({ moves: 1, movedBytes: SLICE_BYTES });
    // Grants are issued again, onto the slice where it is now.
    const grantsAfter = await grm.grants('alice', C.id);
    const cAfter = grantsAfter.resources[0]!.placements[0]!;
    expect(cAfter.offset).toBe(after.C.base);
    expect(cAfter.grant?.memory?.path).toMatch(new RegExp(`\\.m${after.C.entry}$`));
    if (moved[0] === 'C') expect(cAfter.grant?.memory?.path).not.toBe(cBefore.grant?.memory?.path);
    await releaseAll(grm);
  });

  it('a budget below the cheapest moves refuses the request naming the budget; nothing moves', async () => {
    const grm = grmWith({ budgetBytes: BUDGET_BYTES });
    const { A, C, hash } = await fragment(grm);
    const before = placementsOf(tables());
    const refused = await grm.allocate('bob', bigRequest).catch((e: RaError) => e);
    expect(refused).toMatchObject({
      code: 'RESOURCE_UNAVAILABLE',
      details: { why: 'DEFRAG_BUDGET', budgetBytes: BUDGET_BYTES, neededBytes: SLICE_BYTES },
    });
    expect((refused as Error).message).toContain(`budget of ${BUDGET_BYTES} bytes (8 MiB)`);
    expect((refused as Error).message).toContain('raise the budget or ask for less');
    expect(placementsOf(tables())).toEqual(before);
    expect(sha256(memoryFile(register(grm, A).base, SLICE_BYTES))).toBe(hash.A);
    expect(sha256(memoryFile(register(grm, C).base, SLICE_BYTES))).toBe(hash.C);
    expect([...grm.allocationEvents('alice', A.id), ...grm.allocationEvents('alice', C.id)]).toEqual([]);
    expect(grm.list('bob')).toEqual([]);
    await releaseAll(grm);
  });

  it('non-movable allocations are never moved: both pinned refuses as before; one pinned, the other moves', async () => {
    const grm = grmWith();
    const both = await fragment(grm, ['A', 'C']);
    const before = placementsOf(tables());
    await expect(grm.allocate('bob', bigRequest)).rejects.toMatchObject({
      code: 'RESOURCE_UNAVAILABLE',
      details: { why: 'NOT_CONTIGUOUS' },
    });
    expect(placementsOf(tables())).toEqual(before);
    expect(sha256(memoryFile(register(grm, both.A).base, SLICE_BYTES))).toBe(both.hash.A);
    await releaseAll(grm);

    const one = await fragment(grm, ['A']);
    const big = await grm.allocate('bob', bigRequest);
    expect(register(grm, one.A).base).toBe(0); // pinned: where it was
    expect(register(grm, one.C).base).not.toBe(2 * SLICE_BYTES);
    expect(register(grm, big).length).toBe(BIG_BYTES);
    expect(overlaps(tables())).toEqual([]);
    expect(sha256(memoryFile(register(grm, one.A).base, SLICE_BYTES))).toBe(one.hash.A);
    expect(sha256(memoryFile(register(grm, one.C).base, SLICE_BYTES))).toBe(one.hash.C);
    expect(grm.allocationEvents('alice', one.A.id)).toEqual([]);
    await releaseAll(grm);
  });

  it('a copy that fails mid-way leaves every allocation whole where it was and refuses the request', async () => {
    const grm = grmWith({ failCopy: true });
    const { A, C, hash } = await fragment(grm);
    const before = placementsOf(tables());
    const refused = await grm.allocate('bob', bigRequest).catch((e: RaError) => e);
    expect(refused).toMatchObject({
      code: 'RESOURCE_UNAVAILABLE',
      details: { why: 'DEFRAG_FAILED', movedBytes: 0 },
    });
    expect((refused as Error).message).toContain('injected: the migration copy fails');
    // The target slice was released: the tables are as before, the contents untouched.
    expect(placementsOf(tables())).toEqual(before);
    expect(sha256(memoryFile(register(grm, A).base, SLICE_BYTES))).toBe(hash.A);
    expect(sha256(memoryFile(register(grm, C).base, SLICE_BYTES))).toBe(hash.C);
    expect(grm.get('alice', C.id).resources[0]!.placements[0]!.offset).toBe(2 * SLICE_BYTES);
    expect(grm.list('bob')).toEqual([]);
    // The index agrees: a 16 MiB request still fits in a hole.
    const small = await grm.allocate('bob', {
      resources: [{ kind: 'memory', bytes: SLICE_BYTES }],
      policy: { allowSplit: false },
    });
    expect(overlaps(tables())).toEqual([]);
    await grm.release('bob', small.id);
    await releaseAll(grm);
  });
});
