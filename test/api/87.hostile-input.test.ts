// Issue 8 items 4, 8 and 12, against the real GRM (embedded pool) behind the HTTP API: unbounded input
// is refused small and fast with nothing journaled; a lost allocation answers GET and DELETE only;
// Object.prototype names are not kinds; an unknown bitstream is a 404 that prints no server path;
// PATCH names the client's own field and value; a job's output is bounded.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { Adapter } from '../../src/driver/adapter.js';
import { Slices } from '../../src/driver/slices.js';
import { reconcile } from '../../src/grm/reconcile.js';
import { MiB, readSliceTables, useEmbedded } from '../grm/helpers.js';
import { expectError } from './helpers.js';

const ALICE = 'alice-token-hostile';
const BOB = 'bob-token-hostile';

describe('hostile input against the real GRM', () => {
  const ctx = useEmbedded(2, 128 * MiB);
  let app: FastifyInstance;
  const journalBytes = () => statSync(path.join(ctx.stateDir, 'store', 'journal.jsonl')).size;
  const call = (token: string, method: string, url: string, payload?: string) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload }),
    });
  const post = (body: unknown) => call(ALICE, 'POST', '/v1/allocations', JSON.stringify(body));

  beforeAll(() => {
    app = createApiServer(ctx.pool.grm, {
      tokens: new Map([
        [ALICE, 'alice'],
        [BOB, 'bob'],
      ]),
      logger: false,
    });
  });
  afterAll(() => app?.close());

  it('a 60 MB policy.sameServer is refused before parsing; a long one by validation; nothing journaled', async () => {
    const before = journalBytes();
    const huge = await post({
      resources: [{ kind: 'memory', bytes: MiB }],
      policy: { sameServer: 'x'.repeat(60 * 1024 * 1024) },
    });
    expectError(huge, 413, 'PAYLOAD_TOO_LARGE');
    expect(huge.body.length).toBeLessThan(500);
    const long = await post({
      resources: [{ kind: 'memory', bytes: MiB }],
      policy: { sameServer: 'y'.repeat(5000) },
    });
    const message = expectError(long, 400, 'INVALID_REQUEST');
    expect(long.body.length).toBeLessThan(500);
    expect(message).toMatch(/policy\.sameServer must be a string of 1 to 256 characters/);
    expect(journalBytes()).toBe(before);
    expect(JSON.parse((await call(ALICE, 'GET', '/v1/allocations')).body)).toEqual([]);
  });

  it('2 million unknown keys: a small error at once; a few thousand within the limit: named briefly', async () => {
    const before = journalBytes();
    const keys = Array.from({ length: 2_000_000 }, (_, i) => `"k${i}":1`).join(',');
    const t0 = performance.now();
    const res = await call(ALICE, 'POST', '/v1/allocations', `{${keys}}`);
    const elapsedMs = performance.now() - t0;
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.body.length).toBeLessThan(500);
    expect(elapsedMs).toBeLessThan(2000);
    const some = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, 1]));
    const named = await post({ resources: [{ kind: 'memory', bytes: MiB }], ...some });
    expect(expectError(named, 400, 'INVALID_REQUEST')).toMatch(
      /unknown field\(s\) "k0", "k1", "k2" and 1997 more/,
    );
    expect(named.body.length).toBeLessThan(500);
    expect(journalBytes()).toBe(before);
  });

  it.each(Object.getOwnPropertyNames(Object.prototype))('kind "%s" is a 400, not a 500', async (kind) => {
    const res = await post({ resources: [{ kind }] });
    expect(expectError(res, 400, 'INVALID_REQUEST')).toMatch(
      /kind must be accelerator, memory, compute, logic, adapter or firstAvailable/,
    );
  });

  it('logic with an unknown bitstream: 404 BITSTREAM_NOT_FOUND, no server path, nothing journaled', async () => {
    const before = journalBytes();
    const res = await post({ resources: [{ kind: 'logic', bitstream: 'no-such-bitstream' }] });
    const message = expectError(res, 404, 'BITSTREAM_NOT_FOUND');
    expect(message).not.toContain(ctx.stateDir);
    expect(message).not.toMatch(/\/(tmp|work|home|dev|usr)\//);
    expect(journalBytes()).toBe(before);
  });

  it('PATCH bytes = 2^53-1 names the field and the value the client sent', async () => {
    const a = (await post({ resources: [{ kind: 'memory', bytes: MiB }] })).json() as { id: string };
    const res = await call(
      ALICE,
      'PATCH',
      `/v1/allocations/${a.id}`,
      JSON.stringify({ resource: 0, bytes: 2 ** 53 - 1 }),
    );
    const message = expectError(res, 409, 'RESOURCE_UNAVAILABLE');
    expect(message).toMatch(/^bytes 9007199254740991 is more than any adapter holds/);
    expect(res.json()).toMatchObject({ error: { details: { field: 'bytes' } } });
    expect((await call(ALICE, 'DELETE', `/v1/allocations/${a.id}`)).statusCode).toBe(204);
  });

  it('a 4096x4096x1 matmul is refused (its output would be 64 MiB) with a small error', async () => {
    const a = (await post({ resources: [{ kind: 'compute', units: 1 }] })).json() as { id: string };
    const input = Buffer.alloc((4096 + 4096) * 4).toString('base64');
    const res = await call(
      ALICE,
      'POST',
      `/v1/allocations/${a.id}/jobs`,
      JSON.stringify({ function: 'matmul-f32', params: { m: 4096, n: 4096, k: 1 }, input }),
    );
    expect(expectError(res, 400, 'OUTPUT_TOO_LARGE')).toMatch(/67108864 bytes; at most 33554432/);
    expect(res.body.length).toBeLessThan(1000);
    expect((await call(ALICE, 'DELETE', `/v1/allocations/${a.id}`)).statusCode).toBe(204);
  });

  it('a lost allocation answers GET and DELETE only: PATCH and jobs are 409 ALLOCATION_LOST', async () => {
    const grm = ctx.pool.grm;
    const lost = (await post({ resources: [{ kind: 'memory', bytes: 4 * MiB }] })).json() as {
      id: string;
      resources: { placements: { adapter: string; slice: number }[] }[];
    };
    // Its slice vanishes behind the GRM's back (a power cycle would do that); reconciliation marks it lost.
    const p = lost.resources[0]!.placements[0]!;
    const dev = Adapter.open(`shm://${ctx.pool.modelDir}/ra${p.adapter.split('/ra')[1]}.sock`);
    await new Slices(dev).release(p.slice, BigInt(`0x${grm.allocations.get(lost.id)!.ownerKey}`));
    dev.close();
    await grm.exclusive(() => reconcile(grm));
    expect(grm.get('alice', lost.id).state).toBe('lost');
    // Bob now holds memory where alice's slice was.
    const bob = await call(
      BOB,
      'POST',
      '/v1/allocations',
      JSON.stringify({ resources: [{ kind: 'memory', bytes: 4 * MiB }] }),
    );
    expect(bob.statusCode).toBe(201);
    const tablesBefore = readSliceTables(ctx.pool.modelDir, 2);

    const url = `/v1/allocations/${lost.id}`;
    const patch = await call(ALICE, 'PATCH', url, JSON.stringify({ resource: 0, bytes: 8 * MiB }));
    expect(expectError(patch, 409, 'ALLOCATION_LOST')).toMatch(/only be read or released/);
    const job = await call(
      ALICE,
      'POST',
      `${url}/jobs`,
      JSON.stringify({ function: 'crc32c', input: 'aGVsbG8=' }),
    );
    expectError(job, 409, 'ALLOCATION_LOST');
    await expect(grm.migrate('alice', lost.id, 0, [])).rejects.toMatchObject({ code: 'ALLOCATION_LOST' });
    // Nothing on any adapter changed: bob's slice is untouched.
    expect(readSliceTables(ctx.pool.modelDir, 2)).toEqual(tablesBefore);

    expect((await call(ALICE, 'GET', url)).json()).toMatchObject({ id: lost.id, state: 'lost' });
    expect((await call(ALICE, 'DELETE', url)).statusCode).toBe(204);
    expect((await call(ALICE, 'GET', url)).statusCode).toBe(404);
  });
});
