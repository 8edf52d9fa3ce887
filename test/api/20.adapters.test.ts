// GET /v1/adapters: the pool, with another tenant's allocation ids hidden from slices.
import { describe, expect, it } from 'vitest';
import { RaError } from '../../src/common/errors.js';
import { adapterView } from './fake-grm.js';
import { ALICE, aliceAllocation, BOB, expectError, harness, OPS } from './helpers.js';

describe('GET /v1/adapters', () => {
  it('200 with the adapters', async () => {
    const h = harness();
    const res = await h.call(ALICE, 'GET', '/v1/adapters');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(h.grm.adapters);
  });

  it('shows a slice only to its owner (issue 16: not even without its id), and every slice to an operator', async () => {
    const h = harness();
    h.grm.operators.add('ops');
    const id = await aliceAllocation(h);
    const slice = { entry: 0, kind: 'memory', state: 'active', base: 0, length: 2 ** 30, allocation: id };
    const unattributed = { entry: 1, kind: 'memory', state: 'active', base: 2 ** 30, length: 2 ** 20 };
    h.grm.adapters = [adapterView('ra0', { slices: [slice, unattributed] })];
    const alice = (await h.call(ALICE, 'GET', '/v1/adapters')).json() as typeof h.grm.adapters;
    const bob = (await h.call(BOB, 'GET', '/v1/adapters')).json() as typeof h.grm.adapters;
    const ops = (await h.call(OPS, 'GET', '/v1/adapters')).json() as typeof h.grm.adapters;
    expect(alice[0]!.slices).toEqual([slice]);
    expect(bob[0]!.slices).toEqual([]);
    expect(bob[0]!.memory).toEqual(alice[0]!.memory); // capacity is everyone's to see
    expect(ops[0]!.slices).toEqual([slice, unattributed]);
  });

  it('503 when the adapter behind it is gone (driver code)', async () => {
    const h = harness();
    h.grm.failNext('listAdapters', new RaError('ADAPTER_GONE', 'ra0 closed its connection'));
    expect(expectError(await h.call(ALICE, 'GET', '/v1/adapters'), 503, 'ADAPTER_GONE')).toBe(
      'ra0 closed its connection',
    );
  });
});
