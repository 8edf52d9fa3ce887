// Placements report what the adapters hold, read from their slice tables (ra-spec §5), not what was
// planned or asked for: a memory slice rounded up to the adapter's alignment reports its real length,
// a logic slice reports the contexts its bitstream provides (4), not the slot's maximum the planner
// started from (8). The resource keeps what was asked for.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { openServerCatalog } from '../../src/bitstream/shipped.js';
import type { Allocation } from '../../src/common/schema/types.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';
import { MiB, quietLog, readSliceTables } from '../grm/helpers.js';

const TOKEN = 'placement-truth-token';
const ADAPTERS = 2;

describe('placements report what the slice tables hold', () => {
  let pool: Embedded;
  let stateDir: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'api-placement-'));
    pool = await startEmbedded({
      adapters: ADAPTERS,
      memoryBytes: 256 * MiB,
      stateDir,
      log: quietLog,
      reallocateEveryMs: 3_600_000,
      catalog: openServerCatalog({ dir: path.join(stateDir, 'bitstreams') }),
    });
    app = createApiServer(pool.grm, { tokens: new Map([[TOKEN, 'alice']]), logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await pool?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const allocate = async (body: unknown): Promise<Allocation> => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as Allocation;
  };

  /** The slice-table entry each placement names, read from the adapter's registers. */
  const entriesOf = (a: Allocation) => {
    const tables = readSliceTables(path.join(stateDir, 'model'), ADAPTERS);
    return a.resources.flatMap((r) =>
      r.placements.map((p) => {
        const port = Number(/\/ra(\d+)$/.exec(p.adapter)![1]);
        const entry = tables.find((s) => s.adapter === port && s.entry === p.slice);
        expect(entry, `${p.adapter}#${p.slice}`).toBeDefined();
        return { placement: p, entry: entry! };
      }),
    );
  };

  it('memory: placement.bytes is the slice length (rounded up), resource.bytes what was asked', async () => {
    const asked = 3 * MiB + 12_345;
    const a = await allocate({ resources: [{ kind: 'memory', bytes: asked }] });
    expect(a.resources[0]!.bytes).toBe(asked);
    const pairs = entriesOf(a);
    expect(pairs).toHaveLength(1);
    const { placement, entry } = pairs[0]!;
    expect(entry.kind).toBe('memory');
    // The adapter rounded the slice up: the figure that matters is visibly different from the request.
    expect(entry.length).toBeGreaterThan(asked);
    expect({ offset: placement.offset, bytes: placement.bytes }).toEqual({
      offset: entry.base,
      bytes: entry.length,
    });
  });

  it('logic: placement.contexts is what the slice holds (the bitstream provides 4 of 8)', async () => {
    const a = await allocate({ resources: [{ kind: 'logic', bitstream: 'pipeline-xor-crc' }] });
    const pairs = entriesOf(a);
    expect(pairs).toHaveLength(1);
    const { placement, entry } = pairs[0]!;
    expect(entry.kind).toBe('context');
    expect(entry.length).toBe(4);
    expect({ slot: placement.slot, context: placement.context, contexts: placement.contexts }).toEqual({
      slot: entry.slot,
      context: entry.base,
      contexts: entry.length,
    });
  });

  it('compute and accelerator placements match their entries too', async () => {
    const a = await allocate({
      resources: [
        { kind: 'compute', units: 3 },
        { kind: 'accelerator', function: 'crc32c' },
      ],
    });
    for (const { placement, entry } of entriesOf(a)) {
      if (entry.kind === 'compute') expect(placement.units).toBe(entry.length);
      else
        expect([placement.slot, placement.context, placement.contexts]).toEqual([
          entry.slot,
          entry.base,
          entry.length,
        ]);
    }
  });
});
