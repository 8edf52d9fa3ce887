// POST /v1/allocations: 201 with the Allocation. The API checks only that the body is a JSON object;
// odd values (2^63, "NaN", huge arrays) go to the GRM unchanged and the GRM's refusal comes back.
import { describe, expect, it } from 'vitest';
import { RaError } from '../../src/common/errors.js';
import { MAX_RESOURCES } from './fake-grm.js';
import { ALICE, expectError, harness } from './helpers.js';

const memory = (bytes: unknown) => ({ resources: [{ kind: 'memory', bytes }] });

describe('POST /v1/allocations', () => {
  it("201 with the Allocation, made for the token's tenant from the body as sent", async () => {
    const h = harness();
    const request = { resources: [{ kind: 'memory', bytes: 4096 }], policy: { leaseMs: 1000 } };
    const res = await h.call(ALICE, 'POST', '/v1/allocations', request);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ id: 'al-1', tenant: 'alice', state: 'active' });
    expect(h.grm.calls).toEqual([{ method: 'allocate', args: ['alice', request] }]);
  });

  it('409 RESOURCE_UNAVAILABLE when the pool cannot fit it', async () => {
    const h = harness();
    expectError(await h.call(ALICE, 'POST', '/v1/allocations', memory(2 ** 41)), 409, 'RESOURCE_UNAVAILABLE');
  });

  it('passes 2^63 through as parsed (beyond 2^53) and the GRM refuses it: 400', async () => {
    const h = harness();
    const res = await h.call(
      ALICE,
      'POST',
      '/v1/allocations',
      '{"resources":[{"kind":"memory","bytes":9223372036854775808}]}',
    );
    expect(expectError(res, 400, 'INVALID_REQUEST')).toMatch(/bytes must be a positive safe integer/);
    expect(h.grm.calls[0]!.args[1]).toEqual(memory(2 ** 63));
  });

  it.each([
    ['"NaN"', 'NaN'],
    ['"1e3"', '1e3'],
    ['-1', -1],
    ['1.5', 1.5],
    ['1e400 (Infinity once parsed)', Number.POSITIVE_INFINITY],
    ['null', null],
  ])('passes bytes %s to the GRM, which answers 400', async (_name, bytes) => {
    const h = harness();
    const payload =
      bytes === Number.POSITIVE_INFINITY ? '{"resources":[{"kind":"memory","bytes":1e400}]}' : memory(bytes);
    expectError(await h.call(ALICE, 'POST', '/v1/allocations', payload), 400, 'INVALID_REQUEST');
    expect(h.grm.calls.map((c) => c.method)).toEqual(['allocate']);
  });

  it('passes a huge resources array to the GRM, which refuses it; the server still serves', async () => {
    const h = harness();
    // 1,000 resources fit the route's 64 KiB body limit; larger bodies are refused before parsing (80.bad-input).
    const resources = Array.from({ length: 1_000 }, () => ({ kind: 'compute', units: 1 }));
    const message = expectError(
      await h.call(ALICE, 'POST', '/v1/allocations', { resources }),
      400,
      'INVALID_REQUEST',
    );
    expect(message).toBe(`at most ${MAX_RESOURCES} resources`);
    expect((h.grm.calls[0]!.args[1] as { resources: unknown[] }).resources).toHaveLength(1_000);
    expect((await h.call(ALICE, 'POST', '/v1/allocations', memory(1))).statusCode).toBe(201);
  });

  it.each([
    ['an array', '[{"kind":"memory","bytes":1}]', /got an array/],
    ['null', 'null', /got null/],
    ['a number', '42', /got a number/],
    ['a string', '"memory"', /got a string/],
    ['true', 'true', /got a boolean/],
  ])('400 for a body that is %s, without calling the GRM', async (_name, payload, message) => {
    const h = harness();
    expect(
      expectError(await h.call(ALICE, 'POST', '/v1/allocations', payload), 400, 'INVALID_REQUEST'),
    ).toMatch(message);
    expect(h.grm.calls).toEqual([]);
  });

  it('400 for no body at all, without calling the GRM', async () => {
    const h = harness();
    expect(expectError(await h.call(ALICE, 'POST', '/v1/allocations'), 400, 'INVALID_REQUEST')).toMatch(
      /got no body/,
    );
    expect(h.grm.calls).toEqual([]);
  });

  it("502 ADAPTER_FAILURE with the GRM's message and details when configuring an adapter failed", async () => {
    const h = harness();
    h.grm.failNext(
      'allocate',
      new RaError('ADAPTER_FAILURE', 'ra1 failed to program slice 3; rolled back', { adapter: 'ra1' }),
    );
    const res = await h.call(ALICE, 'POST', '/v1/allocations', memory(1));
    expectError(res, 502, 'ADAPTER_FAILURE');
    expect(res.json()).toEqual({
      error: {
        code: 'ADAPTER_FAILURE',
        message: 'ra1 failed to program slice 3; rolled back',
        details: { adapter: 'ra1' },
      },
    });
  });
});
