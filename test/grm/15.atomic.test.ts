// One allocation is atomic: a failure while configuring the second adapter rolls back the first,
// the store keeps no trace of it, and the slice tables read back as they were.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { AgentClient, inProcessChannel, serveAgent } from '../../src/agent/protocol.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { RaError } from '../../src/common/errors.js';
import { Grm } from '../../src/grm/grm.js';
import { MemoryStore, StoreCode } from '../../src/store/index.js';
import { MiB, quietLog, readSliceTables, useEmbedded } from './helpers.js';

describe('atomic allocation', () => {
  const ctx = useEmbedded(2, 64 * MiB);

  it('rolls back every adapter touched when programming fails part way', async () => {
    let programs = 0;
    const handlers = ctx.pool.agent.handlers();
    const [grmSide, agentSide] = inProcessChannel();
    serveAgent(agentSide, {
      ...handlers,
      program: async (p) => {
        if (++programs === 3) throw new RaError('ADAPTER_FAILURE', 'injected: the third slice fails');
        return handlers.program!(p);
      },
    });
    const store = new MemoryStore();
    const grm = new Grm({
      agents: [new AgentClient(grmSide, os.hostname())],
      store,
      catalog: openShippedCatalog(),
      log: quietLog,
    });
    const before = readSliceTables(ctx.pool.modelDir, 2);
    // 100 MiB spread over both 64 MiB adapters plus an accelerator: at least three slices
    await expect(
      grm.allocate('alice', {
        resources: [
          { kind: 'memory', bytes: 100 * MiB },
          { kind: 'accelerator', function: 'crc32c' },
        ],
      }),
    ).rejects.toMatchObject({ code: 'ADAPTER_FAILURE' });
    expect(programs).toBe(3);
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual(before);
    expect(store.load().intents.size).toBe(0);
    expect(store.load().allocations.size).toBe(0);
    // and the next request goes through on the same pool
    programs = 100;
    const ok = await grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 100 * MiB }] });
    await grm.release('alice', ok.id);
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual(before);
  });
});

describe('commit failure', () => {
  const ctx = useEmbedded(2, 64 * MiB);

  it('unprograms the slices when the store cannot commit, and the client gets the error', async () => {
    class FailingStore extends MemoryStore {
      override async commit(): Promise<void> {
        throw new RaError(StoreCode.IO_FAILED, 'injected: the disk is full');
      }
    }
    const [grmSide, agentSide] = inProcessChannel();
    serveAgent(agentSide, ctx.pool.agent.handlers());
    const store = new FailingStore();
    const grm = new Grm({
      agents: [new AgentClient(grmSide, os.hostname())],
      store,
      catalog: openShippedCatalog(),
      log: quietLog,
    });
    const before = readSliceTables(ctx.pool.modelDir, 2);
    await expect(
      grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 100 * MiB }] }),
    ).rejects.toMatchObject({ code: StoreCode.IO_FAILED });
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual(before);
    expect(store.load().intents.size).toBe(0);
    expect(grm.list('alice')).toEqual([]);
  });
});
