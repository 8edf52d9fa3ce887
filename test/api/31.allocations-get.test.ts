// GET /v1/allocations and /v1/allocations/:id: a tenant sees only its own; another tenant's id is 404.
import { describe, expect, it } from 'vitest';
import { ALICE, aliceAllocation, BOB, expectError, harness } from './helpers.js';

describe('GET /v1/allocations', () => {
  it("200 with the caller's allocations only", async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    const alice = await h.call(ALICE, 'GET', '/v1/allocations');
    expect(alice.statusCode).toBe(200);
    expect((alice.json() as { id: string }[]).map((a) => a.id)).toEqual([id]);
    expect((await h.call(BOB, 'GET', '/v1/allocations')).json()).toEqual([]);
  });
});

describe('GET /v1/allocations/:id', () => {
  it('200 with the allocation for its owner', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    const res = await h.call(ALICE, 'GET', `/v1/allocations/${id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, tenant: 'alice' });
    expect(h.grm.calls.at(-1)).toEqual({ method: 'get', args: ['alice', id] });
  });

  it("404 NOT_FOUND for another tenant's allocation, as for one that does not exist", async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    const foreign = expectError(await h.call(BOB, 'GET', `/v1/allocations/${id}`), 404, 'NOT_FOUND');
    const missing = expectError(await h.call(BOB, 'GET', '/v1/allocations/al-999'), 404, 'NOT_FOUND');
    expect(foreign.replace(id, 'X')).toBe(missing.replace('al-999', 'X'));
  });

  it.each([
    ['too long', 'a'.repeat(65)],
    ['far too long', 'a'.repeat(5000)],
    ['a dot', 'al.1'],
    ['an encoded slash', 'al%2F1'],
    ['an encoded space', 'al%201'],
    ['unicode', '%C3%A9t%C3%A9'],
  ])('400 for an id with %s, without asking the GRM', async (_name, id) => {
    const h = harness();
    expect(expectError(await h.call(ALICE, 'GET', `/v1/allocations/${id}`), 400, 'INVALID_REQUEST')).toMatch(
      /1 to 64 characters/,
    );
    expect(h.grm.calls).toEqual([]);
  });

  it('accepts a 64-character id (and passes it on)', async () => {
    const h = harness();
    const id = `${'a'.repeat(62)}_-`;
    expectError(await h.call(ALICE, 'GET', `/v1/allocations/${id}`), 404, 'NOT_FOUND');
    expect(h.grm.calls).toEqual([{ method: 'get', args: ['alice', id] }]);
  });
});
