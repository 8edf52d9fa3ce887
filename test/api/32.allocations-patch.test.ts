// PATCH /v1/allocations/:id: resize a memory or compute resource; 200 with the Allocation.
import { describe, expect, it } from 'vitest';
import { RaError } from '../../src/common/errors.js';
import { ALICE, aliceAllocation, BOB, expectError, harness } from './helpers.js';

describe('PATCH /v1/allocations/:id', () => {
  it('200 with the resized allocation; the GRM gets tenant, id and body', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    const res = await h.call(ALICE, 'PATCH', `/v1/allocations/${id}`, { resource: 0, bytes: 2 ** 31 });
    expect(res.statusCode).toBe(200);
    expect((res.json() as { resources: { bytes: number }[] }).resources[0]!.bytes).toBe(2 ** 31);
    expect(h.grm.calls.at(-1)).toEqual({
      method: 'resize',
      args: ['alice', id, { resource: 0, bytes: 2 ** 31 }],
    });
  });

  it("404 for another tenant's allocation, which stays as it was", async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    expectError(
      await h.call(BOB, 'PATCH', `/v1/allocations/${id}`, { resource: 0, bytes: 1 }),
      404,
      'NOT_FOUND',
    );
    expect(h.grm.allocations.get(id)!.resources[0]!.bytes).toBe(2 ** 30);
  });

  it('400 from the GRM for a bad field, passed through with its message', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    const res = await h.call(ALICE, 'PATCH', `/v1/allocations/${id}`, { resource: 0, bytes: '12GiB' });
    expect(expectError(res, 400, 'INVALID_REQUEST')).toBe('bytes must be a positive safe integer');
  });

  it('409 CONFLICT when the GRM cannot grow it in place', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    h.grm.failNext('resize', new RaError('CONFLICT', 'the allocation is being migrated; retry'));
    expectError(
      await h.call(ALICE, 'PATCH', `/v1/allocations/${id}`, { resource: 0, bytes: 1 }),
      409,
      'CONFLICT',
    );
  });

  it('400 for a non-object body or a bad id, without calling resize', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    expectError(await h.call(ALICE, 'PATCH', `/v1/allocations/${id}`, '[0]'), 400, 'INVALID_REQUEST');
    expectError(await h.call(ALICE, 'PATCH', `/v1/allocations/${id}`), 400, 'INVALID_REQUEST');
    expectError(
      await h.call(ALICE, 'PATCH', '/v1/allocations/no.dots', { resource: 0 }),
      400,
      'INVALID_REQUEST',
    );
    expect(h.grm.calls.filter((c) => c.method === 'resize')).toEqual([]);
  });
});
