// The request language through the GRM on a real embedded pool (docs/grm.md "Request language"): whole
// adapters, firstAvailable, selectors, constraints, request classes, adminAccess and the sameServer
// refusal. Every outcome is read back from the adapters' slice tables, not from the GRM's answer.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RaError } from '../../src/common/errors.js';
import { requestClassesOf } from '../../src/grm/request-classes.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';
import { MiB, quietLog, readSliceTables } from './helpers.js';

const ADAPTERS = 3;
const MEMORY_BYTES = 256 * MiB;

/** The error `promise` rejects with (the test fails if it resolves). */
async function refusal(promise: Promise<unknown>): Promise<RaError> {
  try {
    await promise;
  } catch (e) {
    return e as RaError;
  }
  throw new Error('expected a refusal');
}

describe('request language through the GRM', () => {
  let pool: Embedded;
  let stateDir: string;
  const grm = () => pool.grm;
  const tables = () => readSliceTables(pool.modelDir, ADAPTERS);
  const idOf = (i: number) => `${os.hostname()}/ra${i}`;
  /** Adapter index of an adapter id (`<server>/ra<port>`; the embedded model numbers ports 0..n-1). */
  const indexOf = (id: string) => Number(id.slice(id.lastIndexOf('/ra') + 3));

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'grm-lang-'));
    pool = await startEmbedded({
      adapters: ADAPTERS,
      memoryBytes: MEMORY_BYTES,
      stateDir,
      log: quietLog,
      reallocateEveryMs: 3_600_000,
      zone: 'zone-a',
      operators: new Set(['ops']),
      requestClasses: requestClassesOf(
        {
          classes: [
            {
              name: 'roomy',
              selector: 'largestFreeMemoryBytes >= 134217728',
              description: 'half an adapter free',
            },
            { name: 'on-ra2', selector: `id.endsWith("/ra2")` },
          ],
        },
        'test classes',
      ),
    });
  });
  afterAll(async () => {
    await pool?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const tenant of ['alice', 'bob', 'ops'])
      for (const a of grm().list(tenant)) await grm().release(tenant, a.id);
    expect(tables(), 'every test leaves the pool empty').toEqual([]);
  });

  it('a whole adapter takes all its memory and units; its empty slots take no other tenant', async () => {
    const a = await grm().allocate('alice', { resources: [{ kind: 'adapter' }] });
    const held = indexOf(a.resources[0]!.placements[0]!.adapter);
    const computeUnits = pool.agent.inventory()[held]!.computeUnits;
    const mine = tables().filter((s) => s.adapter === held);
    expect(mine.map((s) => [s.kind, s.base, s.length])).toEqual([
      ['memory', 0, MEMORY_BYTES],
      ['compute', 0, computeUnits],
    ]);
    expect(a.resources[0]).toMatchObject({ kind: 'adapter', bytes: MEMORY_BYTES, units: computeUnits });
    // Bob's contexts: without the whole-adapter rule the first would load into an empty slot of the
    // held adapter (the lowest id, ra0, is the one taken whole).
    expect(held).toBe(0);
    const b = await grm().allocate('bob', {
      resources: Array.from({ length: 8 }, () => ({ kind: 'accelerator', function: 'sha256' })),
    });
    expect(b.resources.length).toBe(8);
    expect(
      tables()
        .filter((s) => s.kind === 'context')
        .every((s) => s.adapter !== held),
    ).toBe(true);
    // Two more whole adapters: the others hold bob's contexts, so none is entirely free.
    const before = tables();
    const err = await refusal(grm().allocate('alice', { resources: [{ kind: 'adapter', count: 2 }] }));
    expect(err.code).toBe('RESOURCE_UNAVAILABLE');
    expect(err.message).toMatch(/whole adapter requested, but none of the \d+ eligible is entirely free/);
    expect(tables()).toEqual(before);
  });

  it('allocationMode all takes every matching adapter whole, or refuses naming the one in use', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'adapter', allocationMode: 'all', selector: '!id.endsWith("/ra0")' }],
    });
    expect(new Set(tables().map((s) => s.adapter))).toEqual(new Set([1, 2]));
    expect(tables()).toHaveLength(4);
    await grm().release('alice', a.id);
    await grm().allocate('bob', {
      resources: [{ kind: 'memory', bytes: MiB, selector: 'id.endsWith("/ra1")' }],
    });
    const before = tables();
    const err = await refusal(
      grm().allocate('alice', {
        resources: [{ kind: 'adapter', allocationMode: 'all', selector: 'zone == "zone-a"' }],
      }),
    );
    expect(err.message).toMatch(
      new RegExp(`1 of the 3 matching adapters are not entirely free \\(${idOf(1)}\\)`),
    );
    expect(tables()).toEqual(before);
  });

  it('firstAvailable grants the first alternative that fits and says which', async () => {
    const a = await grm().allocate('alice', {
      resources: [
        {
          kind: 'firstAvailable',
          alternatives: [
            { kind: 'memory', bytes: 4 * MEMORY_BYTES },
            { kind: 'accelerator', function: 'aes-256-gcm', selector: 'zone == "elsewhere"' },
            { kind: 'memory', bytes: 48 * MiB },
          ],
        },
      ],
    });
    expect(a.resources[0]).toMatchObject({ kind: 'memory', bytes: 48 * MiB, alternative: 2 });
    expect(tables().map((s) => [s.kind, s.length])).toEqual([['memory', 48 * MiB]]);
  });

  it('selectors read the attributes the agent publishes: zone, model, firmware, id', async () => {
    const { model, firmware } = pool.agent.inventory()[0]!;
    expect(model).toMatch(/^ra-0x[0-9a-f]+$/);
    expect(firmware).toMatch(/^\d+\.\d+$/);
    // GET /v1/adapters shows them, so a tenant can write the selector.
    expect((await grm().listAdapters())[0]).toMatchObject({ zone: 'zone-a', model, firmware });
    await grm().allocate('alice', {
      resources: [
        {
          kind: 'memory',
          bytes: 8 * MiB,
          selector: `zone == "zone-a" && model == "${model}" && firmware == "${firmware}" && id == "${idOf(2)}"`,
        },
      ],
    });
    expect(tables().map((s) => [s.adapter, s.kind, s.length])).toEqual([[2, 'memory', 8 * MiB]]);
    const err = await refusal(
      grm().allocate('alice', { resources: [{ kind: 'memory', bytes: MiB, selector: 'zone == "zone-b"' }] }),
    );
    expect(err).toMatchObject({ code: 'RESOURCE_UNAVAILABLE', details: { why: 'NO_MATCHING_ADAPTER' } });
    expect(tables()).toHaveLength(1);
  });

  it('a bad selector is 400 with its position, and nothing is programmed', async () => {
    const err = await refusal(
      grm().allocate('alice', {
        resources: [{ kind: 'memory', bytes: MiB, selector: 'freeMemoryBytes >= "1G"' }],
      }),
    );
    expect(err).toMatchObject({
      code: 'INVALID_REQUEST',
      details: { field: 'resources[0].selector', position: 19 },
    });
    expect(err.message).toMatch(/at character 19: >= compares numbers/);
    expect(tables()).toEqual([]);
  });

  it('request classes add the operator selector; an unknown class is refused with the list', async () => {
    await grm().allocate('alice', { resources: [{ kind: 'compute', units: 1, class: 'on-ra2' }] });
    expect(tables().map((s) => [s.adapter, s.kind])).toEqual([[2, 'compute']]);
    // The class and the resource's own selector both apply: on-ra2 and not ra2 matches nothing.
    const none = await refusal(
      grm().allocate('alice', {
        resources: [{ kind: 'compute', units: 1, class: 'on-ra2', selector: 'id.endsWith("/ra1")' }],
      }),
    );
    expect(none).toMatchObject({ code: 'RESOURCE_UNAVAILABLE', details: { why: 'NO_MATCHING_ADAPTER' } });
    const unknown = await refusal(
      grm().allocate('alice', { resources: [{ kind: 'compute', units: 1, class: 'fast' }] }),
    );
    expect(unknown.code).toBe('INVALID_REQUEST');
    expect(unknown.message).toMatch(/no request class fast \(classes: roomy, on-ra2\)/);
    expect(tables()).toHaveLength(1);
  });

  it('hard constraints: matchAttribute server holds; a constraint on a missing resource is 400', async () => {
    const a = await grm().allocate('alice', {
      resources: [
        { kind: 'memory', bytes: 200 * MiB },
        { kind: 'memory', bytes: 200 * MiB },
      ],
      constraints: [{ matchAttribute: 'server' }, { matchAttribute: 'zone', resources: [1] }],
    });
    expect(a.resources.map((r) => r.placements.length)).toEqual([1, 1]);
    expect(tables()).toHaveLength(2);
    const err = await refusal(
      grm().allocate('alice', {
        resources: [{ kind: 'memory', bytes: MiB }],
        constraints: [{ matchAttribute: 'server', resources: [3] }],
      }),
    );
    expect(err.code).toBe('INVALID_REQUEST');
    expect(tables()).toHaveLength(2);
  });

  it('policy.sameServer naming no server is refused, not ignored; the real server is accepted', async () => {
    const err = await refusal(
      grm().allocate('alice', {
        resources: [{ kind: 'memory', bytes: MiB }],
        policy: { sameServer: 'no-such-host' },
      }),
    );
    expect(err).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'policy.sameServer' } });
    expect(err.message).toMatch(
      new RegExp(`no adapter is on server no-such-host \\(servers: ${os.hostname()}\\)`),
    );
    expect(tables()).toEqual([]);
    await grm().allocate('alice', {
      resources: [{ kind: 'memory', bytes: MiB }],
      policy: { sameServer: os.hostname() },
    });
    expect(tables()).toHaveLength(1);
  });

  it('adminAccess: an operator watches an adapter held whole by a tenant, taking nothing; a tenant may not', async () => {
    const a = await grm().allocate('alice', {
      resources: [{ kind: 'adapter', selector: `id == "${idOf(1)}"` }],
    });
    expect(a.resources[0]!.placements[0]!.adapter).toBe(idOf(1));
    const before = tables();
    const watched = await grm().allocate('ops', {
      resources: [{ kind: 'adapter', adminAccess: true, selector: `id == "${idOf(1)}"` }],
    });
    expect(watched.resources[0]).toMatchObject({ kind: 'adapter', placements: [], monitors: [idOf(1)] });
    expect(tables()).toEqual(before);
    const forbidden = await refusal(
      grm().allocate('bob', { resources: [{ kind: 'adapter', adminAccess: true, allocationMode: 'all' }] }),
    );
    expect(forbidden.code).toBe('FORBIDDEN');
    expect(forbidden.message).toMatch(/adminAccess .* is for operators; tenant bob is not one/);
    await grm().release('ops', watched.id);
    expect(tables()).toEqual(before);
  });
});
