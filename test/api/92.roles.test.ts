// Issue 16 item 3, roles: a tenant sees capacity and its own allocations, never another tenant's
// slices, sizes or allocation ids (in /v1/adapters, the dashboard, the events and their stream), and
// cannot read or act on another's allocation (404, as for an id that does not exist, so ids leak
// nothing); an operator sees and manages everything; /metrics takes a token when the server has one.
// The real GRM on one emulated adapter (every slice on one slice table), checked against the
// adapter's registers where the question is what is on the device.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import type { Allocation } from '../../src/common/model.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';
import { MiB, quietLog, readSliceTables } from '../grm/helpers.js';
import { expectError } from './helpers.js';

const TOKENS = { alice: 'alice-roles-token', bob: 'bob-roles-token', ops: 'ops-roles-token' } as const;
type Tenant = keyof typeof TOKENS;
const tokenMap = new Map(Object.entries(TOKENS).map(([tenant, token]) => [token, tenant]));
const METRICS_TOKEN = 'scrape-only-token';

describe('roles: what a tenant and an operator see and may do', () => {
  let pool: Embedded;
  let stateDir: string;
  let app: FastifyInstance;
  let alice: Allocation;
  let bobFirst: Allocation;
  let bobSecond: Allocation;

  const call = (who: Tenant | undefined, method: string, url: string, body?: unknown) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(who ? { authorization: `Bearer ${TOKENS[who]}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const allocate = async (who: Tenant, resources: unknown[]) => {
    const res = await call(who, 'POST', '/v1/allocations', { resources });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as Allocation;
  };
  /** Bob's slices as the adapter's registers hold them: (entry, kind, base, length). */
  const bobSlicesOnDevice = () => {
    const keys = new Set(
      [...pool.grm.allocations.values()]
        .filter((a) => a.tenant === 'bob')
        .map((a) => BigInt(`0x${a.ownerKey}`)),
    );
    return readSliceTables(pool.modelDir, 1).filter((s) => keys.has(s.ownerKey));
  };

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'api-roles-'));
    pool = await startEmbedded({
      adapters: 1,
      memoryBytes: 256 * MiB,
      stateDir,
      log: quietLog,
      reallocateEveryMs: 3_600_000,
      operators: new Set(['ops']),
    });
    app = createApiServer(pool.grm, { tokens: tokenMap, logger: false });
    alice = await allocate('alice', [{ kind: 'memory', bytes: 4 * MiB }]);
    bobFirst = await allocate('bob', [
      { kind: 'memory', bytes: 8 * MiB },
      { kind: 'compute', units: 2 },
    ]);
    bobSecond = await allocate('bob', [{ kind: 'memory', bytes: 16 * MiB }]);
  });
  afterAll(async () => {
    await app?.close();
    await pool?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("GET /v1/adapters: a tenant sees capacity and its own slices only, none of another's", async () => {
    const onDevice = bobSlicesOnDevice();
    expect(onDevice.length).toBe(3); // bob's two memory slices and his compute slice, in the registers
    const [adapter] = (await call('alice', 'GET', '/v1/adapters')).json() as {
      memory: { total: number; free: number };
      slices: { entry: number; allocation?: string }[];
    }[];
    // Capacity stays visible: the free figure counts bob's slices too.
    expect(adapter!.memory.total).toBe(256 * MiB);
    expect(adapter!.memory.free).toBeLessThanOrEqual(256 * MiB - 28 * MiB);
    // Slices: alice's one, by id; none of bob's entries, not even without an id (the old view had them).
    expect(adapter!.slices.map((s) => s.allocation)).toEqual([alice.id]);
    const entries = new Set(adapter!.slices.map((s) => s.entry));
    for (const s of onDevice) expect(entries.has(s.entry), `bob's entry ${s.entry}`).toBe(false);

    const asOperator = (await call('ops', 'GET', '/v1/adapters')).json() as {
      slices: { entry: number; allocation?: string }[];
    }[];
    const ids = asOperator[0]!.slices.map((s) => s.allocation);
    expect(ids).toEqual(expect.arrayContaining([alice.id, bobFirst.id, bobSecond.id]));
    expect(asOperator[0]!.slices.length).toBe(4);
  });

  it("the dashboard shows a tenant others' use as one block per kind, never their slices, ids or tenant", async () => {
    const res = await call('alice', 'GET', '/v1/dashboard');
    expect(res.statusCode).toBe(200);
    for (const secret of ['bob', bobFirst.id, bobSecond.id]) expect(res.body).not.toContain(secret);
    const view = res.json() as {
      adapters: { slices: { kind: string; base: number; length: number; owner: string }[] }[];
      allocations: { id: string }[];
    };
    expect(view.allocations.map((a) => a.id)).toEqual([alice.id]);
    const others = view.adapters[0]!.slices.filter((s) => s.owner === 'other');
    // Bob holds two memory slices (8 and 16 MiB, rounded by the adapter) and one compute slice: the
    // tenant sees their sums, one block each, not the two slices (positions and sizes stay hidden).
    const onDevice = bobSlicesOnDevice();
    const sum = (kind: string) => onDevice.filter((s) => s.kind === kind).reduce((n, s) => n + s.length, 0);
    expect(others.map((s) => [s.kind, s.length]).sort()).toEqual(
      [
        ['compute', sum('compute')],
        ['memory', sum('memory')],
      ].sort(),
    );
    for (const s of onDevice) {
      const same = others.some((o) => o.kind === s.kind && o.base === s.base && o.length === s.length);
      expect(same, `bob's ${s.kind} slice at ${s.base}`).toBe(false);
    }

    const operator = (await call('ops', 'GET', '/v1/dashboard')).json() as {
      adapters: { slices: { allocation?: string; tenant?: string }[] }[];
      allocations: { id: string }[];
    };
    expect(operator.allocations.map((a) => a.id).sort()).toEqual(
      [alice.id, bobFirst.id, bobSecond.id].sort(),
    );
    expect(operator.adapters[0]!.slices.filter((s) => s.tenant === 'bob').length).toBe(3);
  });

  it("GET /v1/events and the event stream carry only the tenant's own allocations' events", async () => {
    const events = (await call('alice', 'GET', '/v1/events')).json() as {
      allocation: string;
      tenant: string;
    }[];
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.allocation === alice.id && e.tenant === 'alice')).toBe(true);
    const all = (await call('ops', 'GET', '/v1/events')).json() as { tenant: string }[];
    expect(all.some((e) => e.tenant === 'bob')).toBe(true);

    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const abort = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/v1/events/stream`, {
      headers: { authorization: `Bearer ${TOKENS.alice}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!/^event: view\ndata: .*$/m.test(text)) text += (await reader.read()).value ?? '';
    abort.abort();
    const data = /^event: view\ndata: (.*)$/m.exec(text)![1]!;
    for (const secret of ['bob', bobFirst.id, bobSecond.id]) expect(data).not.toContain(secret);
    expect(data).toContain(alice.id);
  });

  it("another tenant's allocation answers 404 exactly like one that does not exist, to every method", async () => {
    const missing = 'a-000000000000';
    const cases: [string, string, unknown?][] = [
      ['GET', ''],
      ['GET', '/events'],
      ['DELETE', ''],
      ['PATCH', '', { resource: 0, bytes: 32 * MiB }],
      ['POST', '/jobs', { function: 'crc32c', input: 'aGVsbG8=' }],
    ];
    for (const [method, suffix, body] of cases) {
      const theirs = await call('alice', method, `/v1/allocations/${bobFirst.id}${suffix}`, body);
      const none = await call('alice', method, `/v1/allocations/${missing}${suffix}`, body);
      const message = expectError(theirs, 404, 'NOT_FOUND');
      expect(message.replace(bobFirst.id, 'ID'), `${method} ${suffix}`).toBe(
        expectError(none, 404, 'NOT_FOUND').replace(missing, 'ID'),
      );
    }
    // Nothing happened to bob's allocation: its three slices are still in the registers.
    expect(bobSlicesOnDevice().length).toBe(3);
    expect(((await call('alice', 'GET', '/v1/allocations')).json() as Allocation[]).map((a) => a.id)).toEqual(
      [alice.id],
    );
  });

  it("an operator lists every tenant's allocations, reads any and releases any (gone from the registers)", async () => {
    const listed = (await call('ops', 'GET', '/v1/allocations')).json() as Allocation[];
    expect(listed.map((a) => a.id).sort()).toEqual([alice.id, bobFirst.id, bobSecond.id].sort());
    const got = await call('ops', 'GET', `/v1/allocations/${bobSecond.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ id: bobSecond.id, tenant: 'bob' });
    expect((await call('ops', 'GET', `/v1/allocations/${bobSecond.id}/events`)).statusCode).toBe(200);
    // Resizing and running jobs stay the owner's decisions: the operator gets the same 404 as anyone.
    expectError(
      await call('ops', 'PATCH', `/v1/allocations/${bobSecond.id}`, { resource: 0, bytes: 32 * MiB }),
      404,
      'NOT_FOUND',
    );

    const gone = bobSlicesOnDevice().filter((s) => s.kind === 'memory' && s.length >= 16 * MiB);
    expect(gone.length).toBe(1);
    expect((await call('ops', 'DELETE', `/v1/allocations/${bobSecond.id}`)).statusCode).toBe(204);
    const after = readSliceTables(pool.modelDir, 1);
    expect(after.some((s) => s.entry === gone[0]!.entry && s.ownerKey === gone[0]!.ownerKey)).toBe(false);
    expectError(await call('bob', 'GET', `/v1/allocations/${bobSecond.id}`), 404, 'NOT_FOUND');
    const events = (await call('ops', 'GET', '/v1/events')).json() as {
      allocation: string;
      detail: string;
    }[];
    expect(events.find((e) => e.allocation === bobSecond.id && e.detail.startsWith('released'))?.detail).toBe(
      'released by operator ops',
    );
    expectError(await call('ops', 'DELETE', '/v1/allocations/a-000000000000'), 404, 'NOT_FOUND');
  });

  it('/metrics is open by default (scrapers need no setup) and takes a token with metricsToken', async () => {
    expect((await call(undefined, 'GET', '/metrics')).statusCode).toBe(200);

    const guarded = createApiServer(pool.grm, {
      tokens: tokenMap,
      metricsToken: METRICS_TOKEN,
      logger: false,
    });
    try {
      const scrape = (token?: string) =>
        guarded.inject({
          method: 'GET',
          url: '/metrics',
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
      expectError(await scrape(), 401, 'UNAUTHORIZED');
      expectError(await scrape(TOKENS.alice), 401, 'UNAUTHORIZED'); // a tenant's token is not enough
      expectError(await scrape('not-the-scrape-token'), 401, 'UNAUTHORIZED');
      const ok = await scrape(METRICS_TOKEN);
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('rafabric_adapter_memory');
      expect((await scrape(TOKENS.ops)).statusCode).toBe(200);
      // The scrape token opens /metrics only, nothing under /v1.
      const v1 = await guarded.inject({
        method: 'GET',
        url: '/v1/adapters',
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expectError(v1, 401, 'UNAUTHORIZED');
    } finally {
      await guarded.close();
    }
  });
});
