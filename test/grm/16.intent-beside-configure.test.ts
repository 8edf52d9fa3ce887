// The intent's write and the configuration (store.ts, singleWriter): with one writer (journal, memory)
// the adapters are programmed while the intent's write is in flight and the client hears 201 only after
// both; with replicas (etcd) nothing is programmed before the intent is durable. A failed intent leaves
// the slice tables as they were. Slice tables are read from the adapters' registers.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { AgentClient, inProcessChannel, serveAgent } from '../../src/agent/protocol.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { RaError } from '../../src/common/errors.js';
import type { Intent } from '../../src/common/model.js';
import { Grm } from '../../src/grm/grm.js';
import { MemoryStore, StoreCode } from '../../src/store/index.js';
import { MiB, quietLog, readSliceTables, useEmbedded } from './helpers.js';

/** A memory store whose intents become durable only when the test says so. */
class HeldIntentStore extends MemoryStore {
  private held: (() => void)[] = [];
  override readonly singleWriter: boolean;
  constructor(singleWriter: boolean) {
    super();
    this.singleWriter = singleWriter;
  }
  override async recordIntent(intent: Intent): Promise<void> {
    const recorded = super.recordIntent(intent);
    await new Promise<void>((resolve) => this.held.push(resolve));
    return recorded;
  }
  get waiting(): number {
    return this.held.length;
  }
  releaseAll(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
}

describe('intent and configuration', () => {
  const ctx = useEmbedded(2, 64 * MiB);

  function grmWith(store: MemoryStore): Grm {
    const [grmSide, agentSide] = inProcessChannel();
    serveAgent(agentSide, ctx.pool.agent.handlers());
    return new Grm({
      agents: [new AgentClient(grmSide, os.hostname())],
      store,
      catalog: openShippedCatalog(),
      log: quietLog,
    });
  }

  const until = async (done: () => boolean) => {
    for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    return done();
  };

  it('one writer: the slices are programmed while the intent is in flight; 201 waits for both', async () => {
    const store = new HeldIntentStore(true);
    const grm = grmWith(store);
    const before = readSliceTables(ctx.pool.modelDir, 2).length;
    let answered = false;
    const allocation = grm
      .allocate('alice', { resources: [{ kind: 'memory', bytes: 8 * MiB }] })
      .finally(() => {
        answered = true;
      });
    expect(await until(() => readSliceTables(ctx.pool.modelDir, 2).length === before + 1)).toBe(true);
    expect(store.waiting).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false); // configured, but its intent is not durable: no answer yet
    store.releaseAll();
    const a = await allocation;
    expect(store.load().allocations.get(a.id)?.state).toBe('active');
    await grm.release('alice', a.id);
    expect(readSliceTables(ctx.pool.modelDir, 2).length).toBe(before);
  });

  it('replicas: nothing is programmed before the intent is durable', async () => {
    const store = new HeldIntentStore(false);
    const grm = grmWith(store);
    const before = readSliceTables(ctx.pool.modelDir, 2);
    const allocation = grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 8 * MiB }] });
    expect(await until(() => store.waiting === 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual(before);
    store.releaseAll();
    const a = await allocation;
    expect(readSliceTables(ctx.pool.modelDir, 2).length).toBe(before.length + 1);
    await grm.release('alice', a.id);
  });

  it('an intent the store cannot write fails the allocation and leaves the slice tables as they were', async () => {
    class FailingIntentStore extends MemoryStore {
      override async recordIntent(): Promise<void> {
        await new Promise((r) => setTimeout(r, 20)); // fails while the adapters are being configured
        throw new RaError(StoreCode.IO_FAILED, 'injected: the disk is full');
      }
    }
    const store = new FailingIntentStore();
    const grm = grmWith(store);
    const before = readSliceTables(ctx.pool.modelDir, 2);
    await expect(
      grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 100 * MiB }] }),
    ).rejects.toMatchObject({ code: StoreCode.IO_FAILED });
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual(before);
    expect(store.load().intents.size).toBe(0);
    expect(store.load().allocations.size).toBe(0);
    expect(grm.list('alice')).toEqual([]);
  });
});
