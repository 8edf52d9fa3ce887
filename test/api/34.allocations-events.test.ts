// GET /v1/allocations/:id/events (issue 15): the tenant reads what reallocation did to its allocation;
// another tenant's id is 404 as for one that does not exist. The events themselves are checked on the
// embedded pool (test/grm/25.elastic-reallocation.test.ts).
import { describe, expect, it } from 'vitest';
import { ALICE, aliceAllocation, BOB, expectError, harness } from './helpers.js';

describe('GET /v1/allocations/:id/events', () => {
  it('200 with the events, for the owner', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    const res = await h.call(ALICE, 'GET', `/v1/allocations/${id}/events`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
    expect(h.grm.calls.at(-1)).toEqual({ method: 'allocationEvents', args: ['alice', id] });
  });

  it("404 NOT_FOUND for another tenant's allocation", async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    expectError(await h.call(BOB, 'GET', `/v1/allocations/${id}/events`), 404, 'NOT_FOUND');
  });
});
