// Gang requests on the embedded pool (issue 15): several allocations granted all or nothing, with a
// search that backtracks across the members. What was granted is read back from the adapters' slice
// tables (the registers) and from the store, not from the GRM's answer.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Allocation } from '../../src/grm/types.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';
import { MemoryStore } from '../../src/store/index.js';
import { MiB, quietLog, readSliceTables } from './helpers.js';

const ADAPTERS = 2; // 16 compute units each (the model's default)
const compute = (units: number) => ({
  resources: [{ kind: 'compute', units }],
  policy: { allowSplit: false },
});

describe('gang requests', () => {
  const ctx = {} as { pool: Embedded; dir: string; store: MemoryStore };
  beforeAll(async () => {
    ctx.dir = mkdtempSync(path.join(os.tmpdir(), 'grm-gang-'));
    ctx.store = new MemoryStore();
    ctx.pool = await startEmbedded({
      adapters: ADAPTERS,
      memoryBytes: 64 * MiB,
      stateDir: ctx.dir,
      store: ctx.store,
      log: quietLog,
      reallocateEveryMs: 3_600_000,
    });
  });
  afterAll(async () => {
    await ctx.pool?.stop();
    rmSync(ctx.dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const a of ctx.pool.grm.list('alice')) await ctx.pool.grm.release('alice', a.id);
  });

  const grm = () => ctx.pool.grm;
  const tables = () => readSliceTables(ctx.pool.modelDir, ADAPTERS);
  /** The compute slices the registers hold under the allocation's owner key: [adapter index, units]. */
  const inRegisters = (a: Allocation) => {
    const key = BigInt(`0x${ctx.store.load().allocations.get(a.id)!.ownerKey}`);
    return tables()
      .filter((s) => s.ownerKey === key && s.kind === 'compute')
      .map((s) => [s.adapter, s.length]);
  };
  const adapterIndex = (a: Allocation) => Number(a.resources[0]!.placements[0]!.adapter.split('/ra')[1]);

  it('grants every member: each one programmed in the slice tables, committed in the store', async () => {
    const gang = await grm().allocateGang('alice', { members: [compute(4), compute(4), compute(4)] });
    expect(gang.allocations).toHaveLength(3);
    for (const a of gang.allocations) {
      expect(a.gang).toBe(gang.id);
      expect(inRegisters(a)).toEqual([[adapterIndex(a), 4]]);
      expect(ctx.store.load().allocations.get(a.id)?.gang).toBe(gang.id);
    }
    expect(
      grm()
        .getGang('alice', gang.id)
        .allocations.map((a) => a.id),
    ).toEqual(gang.allocations.map((a) => a.id));
    expect(() => grm().getGang('bob', gang.id)).toThrow(/does not exist/);
    await grm().releaseGang('alice', gang.id);
    expect(tables()).toEqual([]);
    expect(ctx.store.load().allocations.size).toBe(0);
    expect(() => grm().getGang('alice', gang.id)).toThrow(/does not exist/);
  });

  it('gang all-or-nothing: one member that cannot be placed leaves nothing allocated (registers, store)', async () => {
    const holder = await grm().allocate('alice', compute(2));
    const before = tables();
    const storeBefore = ctx.store.load();
    const err = await grm()
      .allocateGang('alice', { members: [compute(8), compute(8), compute(15)] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RESOURCE_UNAVAILABLE', details: { member: 2, boundHit: false } });
    expect((err as Error).message).toMatch(/nothing was allocated/);
    // Members 0 and 1 were placed (reserved) during the search, and given back: nothing programmed.
    expect(tables()).toEqual(before);
    expect(ctx.store.load().intents.size).toBe(0);
    expect([...ctx.store.load().allocations.keys()]).toEqual([...storeBefore.allocations.keys()]);
    expect(
      grm()
        .list('alice')
        .map((a) => a.id),
    ).toEqual([holder.id]);
    // The capacity the failed gang held during its search is free again: 14 units fit beside 2.
    const after = await grm().allocate('alice', compute(14));
    expect(inRegisters(after)).toEqual([[adapterIndex(after), 14]]);
  });

  it('backtracks where greedy placement fails: member 0 goes where best fit would not put it', async () => {
    // ra0 has 12 free units, ra1 16. Members 8, 12, 8 in this order: best fit puts 8 on ra0 (4
    // left), 12 on ra1 (4 left), and the last 8 fits nowhere. Only 8 on ra1, 12 on ra0, 8 on ra1 works.
    const blocker = await grm().allocate('alice', compute(4));
    expect(adapterIndex(blocker)).toBe(0);
    const members = [compute(8), compute(12), compute(8)];

    // Greedy, one by one (what sequential requests get): the third does not fit.
    const greedy: Allocation[] = [];
    for (const m of members.slice(0, 2)) greedy.push(await grm().allocate('alice', m));
    expect(greedy.map(adapterIndex)).toEqual([0, 1]);
    await expect(grm().allocate('alice', members[2])).rejects.toMatchObject({ code: 'RESOURCE_UNAVAILABLE' });
    for (const a of greedy) await grm().release('alice', a.id);

    const gang = await grm().allocateGang('alice', { members });
    expect(gang.allocations.map(adapterIndex)).toEqual([1, 0, 1]);
    expect(gang.allocations.map(inRegisters)).toEqual([[[1, 8]], [[0, 12]], [[1, 8]]]);
    // Every unit of both adapters is taken, none twice (the registers' sum).
    const units = tables()
      .filter((s) => s.kind === 'compute')
      .reduce((n, s) => n + s.length, 0);
    expect(units).toBe(32);
  });

  it('says when the search stopped at its bound, and leaves nothing allocated', async () => {
    await grm().allocate('alice', compute(4));
    const before = tables();
    const err = await grm()
      .allocateGang('alice', { members: [compute(8), compute(12), compute(8)], searchSteps: 3 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RESOURCE_UNAVAILABLE', details: { boundHit: true, searchSteps: 3 } });
    expect((err as Error).message).toMatch(/bound of 3 placements tried/);
    expect(tables()).toEqual(before);
    expect(ctx.store.load().intents.size).toBe(0);
  });

  it('refuses a malformed gang naming the member, and changes nothing', async () => {
    const before = tables();
    await expect(grm().allocateGang('alice', { members: [] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(
      grm().allocateGang('alice', { members: [compute(1), { resources: [{ kind: 'compute', units: 0 }] }] }),
    ).rejects.toThrow(/^members\[1\]: /);
    await expect(grm().allocateGang('alice', { members: [compute(1)], extra: 1 })).rejects.toThrow(
      /unknown field\(s\) extra/,
    );
    expect(tables()).toEqual(before);
    expect(ctx.store.load().allocations.size).toBe(0);
  });

  it('rolls back every member when the store cannot commit the gang', async () => {
    const before = tables();
    const original = ctx.store.commitAll.bind(ctx.store);
    ctx.store.commitAll = async () => {
      throw new Error('injected: the store cannot write');
    };
    try {
      await expect(grm().allocateGang('alice', { members: [compute(3), compute(3)] })).rejects.toThrow(
        /injected/,
      );
    } finally {
      ctx.store.commitAll = original;
    }
    expect(tables()).toEqual(before);
    expect(ctx.store.load().intents.size).toBe(0);
    expect(ctx.store.load().allocations.size).toBe(0);
  });
});
