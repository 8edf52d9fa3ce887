// DELETE /v1/allocations/:id: release; 204 with no body. Only the owner can release it.
import { describe, expect, it } from 'vitest';
import { ALICE, aliceAllocation, BOB, expectError, harness } from './helpers.js';

describe('DELETE /v1/allocations/:id', () => {
  it('204 with an empty body; the allocation is gone afterwards', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    const res = await h.call(ALICE, 'DELETE', `/v1/allocations/${id}`);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expectError(await h.call(ALICE, 'GET', `/v1/allocations/${id}`), 404, 'NOT_FOUND');
    expectError(await h.call(ALICE, 'DELETE', `/v1/allocations/${id}`), 404, 'NOT_FOUND');
  });

  it("404 for another tenant: bob cannot release alice's allocation", async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    expectError(await h.call(BOB, 'DELETE', `/v1/allocations/${id}`), 404, 'NOT_FOUND');
    expect(h.grm.allocations.has(id)).toBe(true);
    expect((await h.call(ALICE, 'GET', `/v1/allocations/${id}`)).statusCode).toBe(200);
  });

  it('ignores a JSON body and still releases', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    expect((await h.call(ALICE, 'DELETE', `/v1/allocations/${id}`, { force: true })).statusCode).toBe(204);
    expect(h.grm.calls.at(-1)).toEqual({ method: 'release', args: ['alice', id] });
  });

  it('400 for a bad id, without calling release', async () => {
    const h = harness();
    expectError(await h.call(ALICE, 'DELETE', `/v1/allocations/${'x'.repeat(100)}`), 400, 'INVALID_REQUEST');
    expect(h.grm.calls).toEqual([]);
  });
});
