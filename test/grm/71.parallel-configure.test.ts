// Issue 11 items 2 and 3: allocations configure in parallel, and so do the adapters of one allocation.
// Ordering evidence, not timing: an agent wrapper records every call, and a gate holds each executed
// `program`'s answer until the other one has executed too (or 3 s passed, so serial code fails instead
// of hanging). Serial configuration shows program, commit, program, commit; parallel shows both
// programs executed before either commit, and both started before either answered.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { AgentClient, inProcessChannel, serveAgent } from '../../src/agent/protocol.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { Grm } from '../../src/grm/grm.js';
import type { StoredAllocation } from '../../src/store/index.js';
import { MemoryStore } from '../../src/store/index.js';
import { MiB, quietLog, readSliceTables, useEmbedded } from './helpers.js';

const GATE_MS = 3000;

/** A GRM on the pool's adapters whose agent calls and store commits are recorded in `events`. */
function recordedGrm(pool: ReturnType<typeof useEmbedded>['pool'], expectPrograms: number) {
  const events: string[] = [];
  let executed = 0;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const handlers = pool.agent.handlers();
  const [grmSide, agentSide] = inProcessChannel();
  serveAgent(agentSide, {
    ...handlers,
    program: async (p) => {
      events.push(`program ${p.adapter}`);
      const result = await handlers.program!(p);
      events.push(`programmed ${p.adapter}`);
      if (++executed === expectPrograms) open();
      await Promise.race([gate, new Promise((r) => setTimeout(r, GATE_MS))]);
      events.push(`answered ${p.adapter}`);
      return result;
    },
  });
  class RecordingStore extends MemoryStore {
    override commit(a: StoredAllocation): Promise<void> {
      events.push(`commit ${a.resources[0]!.placements[0]!.adapter}`);
      return super.commit(a);
    }
  }
  const grm = new Grm({
    agents: [new AgentClient(grmSide, os.hostname())],
    store: new RecordingStore(),
    catalog: openShippedCatalog(),
    log: quietLog,
  });
  return { grm, events };
}

describe('parallel configuration', () => {
  const ctx = useEmbedded(2, 64 * MiB);
  const ids = () => [`${os.hostname()}/ra0`, `${os.hostname()}/ra1`];

  it('two concurrent allocations both program before either commits', async () => {
    const { grm, events } = recordedGrm(ctx.pool, 2);
    // 40 MiB each on 64 MiB adapters: one adapter each.
    const [a, b] = await Promise.all([
      grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 40 * MiB }] }),
      grm.allocate('bob', { resources: [{ kind: 'memory', bytes: 40 * MiB }] }),
    ]);
    try {
      const firstCommit = events.findIndex((e) => e.startsWith('commit'));
      expect(events.slice(0, firstCommit).filter((e) => e.startsWith('programmed'))).toHaveLength(2);
      expect(events.filter((e) => e.startsWith('commit'))).toHaveLength(2);
      // Different adapters, both programmed (registers).
      expect(new Set([a, b].map((x) => x.resources[0]!.placements[0]!.adapter))).toEqual(new Set(ids()));
      expect(readSliceTables(ctx.pool.modelDir, 2)).toHaveLength(2);
    } finally {
      await grm.release('alice', a.id);
      await grm.release('bob', b.id);
    }
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual([]);
  });

  it("one allocation's adapters are programmed in parallel: both programs start before either ends", async () => {
    const { grm, events } = recordedGrm(ctx.pool, 2);
    // 100 MiB does not fit one 64 MiB adapter: one slice on each.
    const a = await grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 100 * MiB }] });
    expect(new Set(a.resources[0]!.placements.map((p) => p.adapter))).toEqual(new Set(ids()));
    try {
      const starts = events.filter((e) => e.startsWith('program ')).map((e) => events.indexOf(e));
      const firstEnd = events.findIndex((e) => e.startsWith('answered'));
      expect(starts).toHaveLength(2);
      expect(Math.max(...starts)).toBeLessThan(firstEnd);
      expect(readSliceTables(ctx.pool.modelDir, 2)).toHaveLength(2);
    } finally {
      await grm.release('alice', a.id);
    }
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual([]);
  });
});
