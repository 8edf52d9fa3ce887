// Issue 11 item 5: reconciliation compares the live index with the slice tables beside allocation. An
// allocation caught configuring — its program sent but not yet executed, then programmed but waiting
// for the store's commit — is in flight, not a difference: the pass neither reports nor releases it,
// while on the same adapter it does report a vanished slice (another allocation marked lost) and a
// real orphan (released), which shows the adapter was compared. The allocation then commits with its
// slice intact, read from the registers.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { AgentClient, inProcessChannel, serveAgent } from '../../src/agent/protocol.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { Adapter } from '../../src/driver/adapter.js';
import { Slices } from '../../src/driver/slices.js';
import { Grm } from '../../src/grm/grm.js';
import { reconcile } from '../../src/grm/reconcile.js';
import { MemoryStore, type StoredAllocation } from '../../src/store/index.js';
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
    const committing = latch();
    const commit = latch();
    let armed = false;
    const handlers = ctx.pool.agent.handlers();
    const [grmSide, agentSide] = inProcessChannel();
    serveAgent(agentSide, {
      ...handlers,
      program: async (p) => {
        if (armed) {
          arrived.open();
          await execute.opened;
        }
        return handlers.program!(p);
      },
    });
    class GatedStore extends MemoryStore {
      override async commit(a: StoredAllocation): Promise<void> {
        if (armed) {
          committing.open();
          await commit.opened;
        }
        super.commit(a);
      }
    }
    const grm = new Grm({
      agents: [new AgentClient(grmSide, os.hostname())],
      store: new GatedStore(),
      catalog: openShippedCatalog(),
      log: quietLog,
    });
    const tables = () => readSliceTables(ctx.pool.modelDir, 2);
    expect(await reconcile(grm)).toEqual([]);

    // B is committed; its slice then vanishes behind the GRM's back (a power cycle would do that).
    const b = await grm.allocate('bob', { resources: [{ kind: 'memory', bytes: 8 * MiB }] });
    const bp = b.resources[0]!.placements[0]!;
    const port = Number(bp.adapter.slice(bp.adapter.lastIndexOf('/ra') + 3));
    const dev = Adapter.open(`shm://${ctx.pool.modelDir}/ra${port}.sock`);
    try {
      await new Slices(dev).release(bp.slice, BigInt(`0x${grm.allocations.get(b.id)!.ownerKey}`));

      armed = true;
      const pending = grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 8 * MiB }] });
      pending.catch(() => undefined);
      // 1. Reserved in the index, intent recorded, program sent: not on the adapter yet.
      await arrived.opened;
      const first = await reconcile(grm);
      expect(first).toEqual([expect.objectContaining({ kind: 'lost-allocation', allocation: b.id })]);

      // 2. On the adapter with alice's key, waiting for the store's commit; plus a real orphan.
      execute.open();
      await committing.opened;
      const held = tables();
      expect(held).toHaveLength(1);
      expect(held[0]!.adapter).toBe(port); // the same adapter: its comparison is what is tested
      const orphanEntry = await new Slices(dev).program(
        { kind: 'memory', ownerKey: 0xabcdefn, base: 48 * MiB, length: 2 * MiB },
        200,
      );
      const second = await reconcile(grm);
      expect(second).toEqual([
        expect.objectContaining({ kind: 'orphan-slice', adapter: bp.adapter, entry: orphanEntry }),
      ]);
      expect(tables()).toEqual(held);

      commit.open();
      const a = await pending;
      const p = a.resources[0]!.placements[0]!;
      expect(p.adapter).toBe(bp.adapter);
      expect(held[0]).toMatchObject({ index: p.slice, kind: 'memory', base: p.offset, state: 'active' });
      expect(held[0]!.ownerKey).toBe(BigInt(`0x${grm.allocations.get(a.id)!.ownerKey}`));
      expect(await reconcile(grm)).toEqual([]);
      await grm.release('alice', a.id);
      await grm.release('bob', b.id);
      expect(tables()).toEqual([]);
    } finally {
      armed = false;
      execute.open();
      commit.open();
      dev.close();
    }
  });
});
