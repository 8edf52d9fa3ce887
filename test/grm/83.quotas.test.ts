// Issue 16 item 4, quotas per tenant, through the HTTP API on the real GRM (embedded pool), every
// figure checked against the adapters' slice tables (registers), never the GRM's own word:
// - the finding: 512 one-byte allocations fill every slice table and another tenant gets 409;
//   a quota stops the flood and the other tenant still allocates;
// - concurrent allocations and resizes never pass a quota (reservations count before they commit);
// - growth past a quota is refused and changes nothing (resize, and the path elastic growth takes);
// - usage is readable by the tenant and by an operator; only an operator sets quotas;
// - a bad quota is a clear 400 and changes nothing (in memory or in the file); a good one is kept
//   in the --quotas file before it applies.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import type { Allocation } from '../../src/common/model.js';
import { readQuotaFile, writeQuotaFile } from '../../src/grm/quota-file.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';
import { MiB, quietLog, readSliceTables } from './helpers.js';

const ADAPTERS = 2;
const SLICE_ENTRIES = 256; // CAP_SLICES of the emulated adapter (ra-spec §2)
const ALIGN_BYTES = 2 * MiB; // CAP_MEM_ALIGN (ra-spec §2)
const TENANTS = ['alice', 'bob', 'carol', 'dave', 'ops'] as const;
type Tenant = (typeof TENANTS)[number];
const token = (t: Tenant) => `${t}-quota-token`;
const root = path.resolve(import.meta.dirname, '../..');

describe('quotas per tenant', () => {
  let pool: Embedded;
  let stateDir: string;
  let quotaFile: string;
  let app: FastifyInstance;

  const call = (who: Tenant, method: string, url: string, body?: unknown) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${token(who)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  /** The tenant's slices in the registers of every adapter (owner keys mapped to tenants). */
  const slicesOf = (tenant: string) => {
    const keys = new Set(
      [...pool.grm.allocations.values()]
        .filter((a) => a.tenant === tenant)
        .map((a) => BigInt(`0x${a.ownerKey}`)),
    );
    return readSliceTables(pool.modelDir, ADAPTERS).filter((s) => keys.has(s.ownerKey));
  };
  const sum = (slices: { kind: string; length: number }[], kind: string) =>
    slices.filter((s) => s.kind === kind).reduce((n, s) => n + s.length, 0);

  async function releaseAll(tenant: Tenant): Promise<void> {
    const all = (await call('ops', 'GET', '/v1/allocations')).json() as Allocation[];
    const mine = all.filter((a) => a.tenant === tenant);
    await Promise.all(mine.map((a) => call('ops', 'DELETE', `/v1/allocations/${a.id}`)));
    expect(slicesOf(tenant)).toEqual([]);
  }

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'grm-quotas-'));
    quotaFile = path.join(stateDir, 'quotas.json');
    pool = await startEmbedded({
      adapters: ADAPTERS,
      memoryBytes: 1024 * MiB,
      stateDir,
      log: quietLog,
      reallocateEveryMs: 3_600_000,
      operators: new Set(['ops']),
    });
    pool.grm.useQuotas({}, (table) => writeQuotaFile(quotaFile, table)); // as serve --quotas does
    app = createApiServer(pool.grm, {
      tokens: new Map(TENANTS.map((t) => [token(t), t])),
      logger: false,
    });
  });
  afterAll(async () => {
    await app?.close();
    await pool?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const flood = async (tenant: Tenant, count: number) => {
    const answers = await Promise.all(
      Array.from({ length: count }, () =>
        call(tenant, 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: 1 }] }),
      ),
    );
    const by = new Map<number, number>();
    for (const a of answers) by.set(a.statusCode, (by.get(a.statusCode) ?? 0) + 1);
    return { by, answers };
  };

  it("the issue's finding, without a quota: 512 one-byte allocations fill every slice table; bob gets 409", async () => {
    const started = Date.now();
    const { by } = await flood('alice', ADAPTERS * SLICE_ENTRIES);
    expect(by.get(201)).toBe(ADAPTERS * SLICE_ENTRIES);
    expect(slicesOf('alice').length).toBe(ADAPTERS * SLICE_ENTRIES); // every entry of every adapter
    const bob = await call('bob', 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: MiB }] });
    expect(bob.statusCode, bob.body).toBe(409);
    expect(bob.json().error.code).toBe('RESOURCE_UNAVAILABLE');
    console.log(`flood of ${ADAPTERS * SLICE_ENTRIES} one-byte allocations: ${Date.now() - started} ms`);
    await releaseAll('alice');
  }, 120_000);

  it('with a quota the flood stops at it (429 QUOTA_EXCEEDED, nothing written) and bob still allocates', async () => {
    const quota = { allocations: 32, sliceEntries: 32 };
    const set = await call('ops', 'PUT', '/v1/tenants/alice/quota', quota);
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ tenant: 'alice', quota });

    const { by, answers } = await flood('alice', ADAPTERS * SLICE_ENTRIES);
    expect(by.get(201)).toBe(32);
    expect(by.get(429)).toBe(ADAPTERS * SLICE_ENTRIES - 32);
    const refused = answers.find((a) => a.statusCode === 429)!.json();
    expect(refused.error.code).toBe('QUOTA_EXCEEDED');
    expect(refused.error.message).toMatch(/above its quota of 32; release something or ask an operator/);
    expect(slicesOf('alice').length).toBe(32); // the registers: 32 slices, no more

    const bob = await call('bob', 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: MiB }] });
    expect(bob.statusCode, bob.body).toBe(201);
    expect(slicesOf('bob').length).toBe(1);
    const usage = (await call('alice', 'GET', '/v1/tenants/me/usage')).json();
    expect(usage).toEqual({
      tenant: 'alice',
      quota,
      // placements report what the slices hold (aligned), so bytes is what the registers show
      usage: {
        allocations: 32,
        sliceEntries: 32,
        bytes: sum(slicesOf('alice'), 'memory'),
        units: 0,
        contexts: 0,
      },
    });
    await releaseAll('alice');
    await releaseAll('bob');
  }, 120_000);

  it('concurrent allocations never pass the quota, counted from the slice tables', async () => {
    const quota = { bytes: 10 * ALIGN_BYTES, units: 3 };
    expect((await call('ops', 'PUT', '/v1/tenants/carol/quota', quota)).statusCode).toBe(200);
    const memory = () =>
      call('carol', 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: ALIGN_BYTES }] });
    const compute = () =>
      call('carol', 'POST', '/v1/allocations', { resources: [{ kind: 'compute', units: 1 }] });
    const answers = await Promise.all([
      ...Array.from({ length: 30 }, memory),
      ...Array.from({ length: 10 }, compute),
    ]);
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 201).length).toBe(13);
    expect(statuses.filter((s) => s === 429).length).toBe(27);
    const onDevice = slicesOf('carol');
    expect(sum(onDevice, 'memory')).toBe(10 * ALIGN_BYTES);
    expect(sum(onDevice, 'compute')).toBe(3);
  }, 60_000);

  // Found from outside: a quota of 1 MiB let a 1 MiB request through, which the adapter holds as one
  // 2 MiB alignment. The hold counted the bytes asked, the committed allocation the bytes placed.
  it('memory counts as placed (rounded up to the alignment), in the hold as in the allocation', async () => {
    const half = ALIGN_BYTES / 2;
    expect((await call('ops', 'PUT', '/v1/tenants/dave/quota', { bytes: half })).statusCode).toBe(200);
    const alone = await call('dave', 'POST', '/v1/allocations', {
      resources: [{ kind: 'memory', bytes: half }],
    });
    expect(alone.statusCode, alone.body).toBe(429);
    expect(alone.json().error).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { field: 'bytes', quota: half, used: 0, asked: ALIGN_BYTES },
    });
    expect(slicesOf('dave')).toEqual([]);

    expect((await call('ops', 'PUT', '/v1/tenants/dave/quota', { bytes: 3 * ALIGN_BYTES })).statusCode).toBe(
      200,
    );
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        call('dave', 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: half }] }),
      ),
    );
    expect(answers.filter((a) => a.statusCode === 201).length).toBe(3);
    expect(answers.filter((a) => a.statusCode === 429).length).toBe(7);
    expect(sum(slicesOf('dave'), 'memory')).toBe(3 * ALIGN_BYTES);
    const usage = (await call('dave', 'GET', '/v1/tenants/me/usage')).json();
    expect(usage.usage.bytes).toBe(3 * ALIGN_BYTES);
    await releaseAll('dave');
    expect((await call('ops', 'PUT', '/v1/tenants/dave/quota', {})).statusCode).toBe(200); // unlimited again
  }, 60_000);

  it('growth past the quota is refused and changes nothing; concurrent grows and allocations stay under it', async () => {
    const mine = (await call('carol', 'GET', '/v1/allocations')).json() as Allocation[];
    const memory = mine.filter((a) => a.resources[0]!.kind === 'memory');
    const compute = mine.filter((a) => a.resources[0]!.kind === 'compute');
    // At the quota: a grow by one alignment is refused, and the slice keeps its length in the registers.
    const before = slicesOf('carol');
    const grow = await call('carol', 'PATCH', `/v1/allocations/${memory[0]!.id}`, {
      resource: 0,
      bytes: 2 * ALIGN_BYTES,
    });
    expect(grow.statusCode, grow.body).toBe(429);
    expect(grow.json().error).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { field: 'bytes', quota: 10 * ALIGN_BYTES },
    });
    // The path elastic growth takes (maintenance.resizeCompute -> resize), refused the same way.
    const a = pool.grm.allocations.get(compute[0]!.id)!;
    expect(pool.grm.maintenance.unitsHeadroom('carol')).toBe(0);
    await expect(pool.grm.maintenance.resizeCompute(a, 0, 2)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
    });
    expect(slicesOf('carol')).toEqual(before);

    // Free 4 alignments' worth, then race 6 grows (+1 each) against 6 new allocations (1 each): 4 fit.
    for (const m of memory.slice(0, 4))
      expect((await call('carol', 'DELETE', `/v1/allocations/${m.id}`)).statusCode).toBe(204);
    const answers = await Promise.all([
      ...memory
        .slice(4)
        .map((m) =>
          call('carol', 'PATCH', `/v1/allocations/${m.id}`, { resource: 0, bytes: 2 * ALIGN_BYTES }),
        ),
      ...Array.from({ length: 6 }, () =>
        call('carol', 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: ALIGN_BYTES }] }),
      ),
    ]);
    const ok = answers.filter((r) => r.statusCode < 300).length;
    const refused = answers.filter((r) => r.statusCode === 429).length;
    expect([ok, refused]).toEqual([4, 8]);
    expect(sum(slicesOf('carol'), 'memory')).toBe(10 * ALIGN_BYTES);
    const usage = (await call('carol', 'GET', '/v1/tenants/me/usage')).json();
    expect(usage.usage.bytes).toBe(10 * ALIGN_BYTES);
    expect(usage.usage.units).toBe(sum(slicesOf('carol'), 'compute'));
  }, 60_000);

  it('usage: a tenant reads its own, an operator every tenant; only an operator sets quotas', async () => {
    const all = await call('ops', 'GET', '/v1/tenants');
    expect(all.statusCode).toBe(200);
    const rows = all.json() as { tenant: string; usage: { bytes: number; sliceEntries: number } }[];
    // Every tenant of the tokens, holding something or not, by name.
    expect(rows.map((r) => r.tenant)).toEqual([...TENANTS].sort());
    const carol = rows.find((r) => r.tenant === 'carol')!;
    expect(carol.usage.sliceEntries).toBe(slicesOf('carol').length);
    expect(carol.usage.bytes).toBe(sum(slicesOf('carol'), 'memory'));

    expect((await call('dave', 'GET', '/v1/tenants')).json().error.code).toBe('FORBIDDEN');
    const put = await call('dave', 'PUT', '/v1/tenants/dave/quota', { allocations: 1000 });
    expect(put.statusCode).toBe(403);
    expect(put.json().error.message).toMatch(/only operators may set quotas/);
    expect((await call('dave', 'GET', '/v1/tenants/me/usage')).json()).toEqual({
      tenant: 'dave',
      quota: {},
      usage: { bytes: 0, units: 0, contexts: 0, sliceEntries: 0, allocations: 0 },
    });
  });

  it('a bad quota is a 400 naming what is wrong, and changes nothing (memory or file)', async () => {
    expect((await call('ops', 'PUT', '/v1/tenants/bob/quota', {})).statusCode).toBe(200); // the file exists
    const fileBefore = readFileSync(quotaFile, 'utf8');
    const tableBefore = (await call('ops', 'GET', '/v1/tenants')).json();
    const cases: [string, unknown, RegExp][] = [
      [
        '/v1/tenants/alice/quota',
        { bytes: -1 },
        /^quota\.bytes must be a non-negative integer below 2\^53, got -1$/,
      ],
      [
        '/v1/tenants/alice/quota',
        { bytes: 1.5 },
        /^quota\.bytes must be a non-negative integer below 2\^53, got 1\.5$/,
      ],
      ['/v1/tenants/alice/quota', { bytez: 1 }, /unknown field\(s\) "bytez"/],
      ['/v1/tenants/alice/quota', { units: '8' }, /^quota\.units must be a non-negative integer/],
      ['/v1/tenants/alice/quota', [1], /must be a JSON object/],
      ['/v1/tenants/Alice!/quota', { bytes: 1 }, /tenant: must be 1 to 64 characters/],
    ];
    for (const [url, body, message] of cases) {
      const res = await call('ops', 'PUT', url, body);
      expect(res.statusCode, `${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
      expect(res.json().error.message).toMatch(message);
    }
    expect(readFileSync(quotaFile, 'utf8')).toBe(fileBefore);
    expect((await call('ops', 'GET', '/v1/tenants')).json()).toEqual(tableBefore);
  });

  it('a quota set through the API is in the --quotas file, so a restart keeps it', async () => {
    expect((await call('ops', 'PUT', '/v1/tenants/dave/quota', { contexts: 4 })).statusCode).toBe(200);
    const table = readQuotaFile(quotaFile);
    expect(table.tenants).toMatchObject({
      alice: { allocations: 32, sliceEntries: 32 },
      carol: { bytes: 10 * ALIGN_BYTES, units: 3 },
      dave: { contexts: 4 },
    });
  });
});

describe('serve --quotas, --operators, --metrics-token: bad values stop serve before it starts', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-quotas-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const serve = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(root, 'bin/rafabric.js'), 'serve', '--port', '0', ...args], {
      encoding: 'utf8',
      env: { ...process.env, RAFABRIC_LOG: 'silent', RAFABRIC_TOKENS: 'alice=alice-serve-token' },
      timeout: 30_000,
    });

  it.each([
    ['a quota file that is not JSON', '{', /--quotas: quotas file .* is not JSON/],
    [
      'a negative quota',
      JSON.stringify({ tenants: { alice: { bytes: -5 } } }),
      /--quotas: quotas file .*: quotas\.tenants\.alice\.bytes must be a non-negative integer below 2\^53, got -5; see docs\/grm\.md/,
    ],
  ])('%s: exit 2 naming the file and field', (_name, text, message) => {
    const file = path.join(dir, 'quotas.json');
    writeFileSync(file, text);
    const res = serve('--quotas', file);
    expect(res.status, res.stderr).toBe(2);
    expect(res.stderr).toMatch(message);
  });

  it('an operator without a token, or a metrics token that is a tenant token: exit 2', () => {
    const op = serve('--operators', 'root');
    expect(op.status, op.stderr).toBe(2);
    expect(op.stderr).toMatch(/--operators: entry 1 \(root\) has no token; give it one in --tokens/);
    const metrics = serve('--metrics-token', 'alice-serve-token');
    expect(metrics.status, metrics.stderr).toBe(2);
    expect(metrics.stderr).toMatch(/--metrics-token: it is also alice's tenant token/);
    expect(metrics.stderr).not.toContain('alice-serve-token'); // never the secret itself
  });
});
