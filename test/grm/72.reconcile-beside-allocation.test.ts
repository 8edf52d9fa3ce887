// Issue 11 item 5: reconciliation compares the live index with the slice tables beside allocation. An
// allocation caught configuring — its program sent but not yet executed, then executed but not yet
// answered — is in flight, not a difference: the pass neither reports nor releases it, while on the
// same adapter it does report a vanished slice (another allocation, marked lost), which shows the
// adapter was compared. The allocation then commits with its slice intact, read from the registers.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { AgentClient, inProcessChannel, serveAgent } from '../../src/agent/protocol.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { Adapter } from '../../src/driver/adapter.js';
import { Slices } from '../../src/driver/slices.js';
import { Grm } from '../../src/grm/grm.js';
import { reconcile } from '../../src/grm/reconcile.js';
import { MemoryStore } from '../../src/store/index.js';
import { MiB, quietLog, readSliceTables, useEmbedded } from './helpers.js';

function latch() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('reconciliation beside allocation', () => {
  const ctx = useEmbedded(2, 64 * MiB);

  it('leaves an allocation that is configuring alone and still finds real differences on its adapter', async () => {
    const arrived = latch();
    const execute = latch();
    const programmed = latch();
    const answer = latch();
    let armed = false;
    const handlers = ctx.pool.agent.handlers();
    const [grmSide, agentSide] = inProcessChannel();
    serveAgent(agentSide, {
      ...handlers,
      program: async (p) => {
        if (!armed) return handlers.program!(p);
        arrived.open();
        await execute.opened;
        const result = await handlers.program!(p);
        programmed.open();
        await answer.opened;
        return result;
      },
    });
    const grm = new Grm({
      agents: [new AgentClient(grmSide, os.hostname())],
      store: new MemoryStore(),
      catalog: openShippedCatalog(),
      log: quietLog,
    });
    const tables = () => readSliceTables(ctx.pool.modelDir, 2);
    expect(await reconcile(grm)).toEqual([]);

    // Two committed allocations whose slices will vanish behind the GRM's back (as a power cycle
    // would do): each pass must notice one, which shows it compared the adapter alice configures on.
    const memory = { resources: [{ kind: 'memory', bytes: 8 * MiB }] };
    const b = await grm.allocate('bob', memory);
    const c = await grm.allocate('carol', memory);
    const on = b.resources[0]!.placements[0]!.adapter;
    expect(c.resources[0]!.placements[0]!.adapter).toBe(on);
    const port = Number(on.slice(on.lastIndexOf('/ra') + 3));
    const vanish = async (x: typeof b) => {
      const dev = Adapter.open(`shm://${ctx.pool.modelDir}/ra${port}.sock`);
      try {
        const key = BigInt(`0x${grm.allocations.get(x.id)!.ownerKey}`);
        await new Slices(dev).release(x.resources[0]!.placements[0]!.slice, key);
      } finally {
        dev.close();
      }
    };

    armed = true;
    const pending = grm.allocate('alice', memory);
    pending.catch(() => undefined);
    try {
      // 1. Reserved in the index, intent recorded, program sent: not on the adapter yet.
      await arrived.opened;
      await vanish(b);
      expect(await reconcile(grm)).toEqual([
        expect.objectContaining({ kind: 'lost-allocation', allocation: b.id }),
      ]);

      // 2. Programmed with alice's key (registers), its answer not yet back: not committed.
      execute.open();
      await programmed.opened;
      const held = tables().filter((s) => s.ownerKey !== BigInt(`0x${grm.allocations.get(c.id)!.ownerKey}`));
      expect(held).toHaveLength(1);
      expect(held[0]!.adapter).toBe(port); // the same adapter: its comparison is what is tested
      await vanish(c);
      expect(await reconcile(grm)).toEqual([
        expect.objectContaining({ kind: 'lost-allocation', allocation: c.id }),
      ]);
      expect(tables()).toEqual(held);
    } finally {
      armed = false;
      execute.open();
      answer.open();
    }

    const a = await pending;
    const p = a.resources[0]!.placements[0]!;
    const [slice] = tables();
    expect(slice).toMatchObject({
      adapter: port,
      entry: p.slice,
      kind: 'memory',
      base: p.offset,
      state: 'active',
    });
    expect(slice!.ownerKey).toBe(BigInt(`0x${grm.allocations.get(a.id)!.ownerKey}`));
    expect(await reconcile(grm)).toEqual([]);
    for (const [tenant, x] of [
      ['alice', a],
      ['bob', b],
      ['carol', c],
    ] as const)
      await grm.release(tenant, x.id);
    expect(tables()).toEqual([]);
  });
});
