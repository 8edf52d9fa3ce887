// POST /v1/allocations/:id/jobs: run a function on the allocation; 200 {output: BASE64}.
import { describe, expect, it } from 'vitest';
import { RaError } from '../../src/common/errors.js';
import { ALICE, aliceAllocation, BOB, expectError, harness } from './helpers.js';

const job = (text: string) => ({ function: 'crc32c', input: Buffer.from(text).toString('base64') });

describe('POST /v1/allocations/:id/jobs', () => {
  it('200 with only {output}; the GRM gets tenant, id and the job as sent', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    const res = await h.call(ALICE, 'POST', `/v1/allocations/${id}/jobs`, job('hello'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ output: Buffer.from('HELLO').toString('base64') });
    expect(h.grm.calls.at(-1)).toEqual({ method: 'runJob', args: ['alice', id, job('hello')] });
  });

  it("404 for another tenant's allocation", async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    expectError(await h.call(BOB, 'POST', `/v1/allocations/${id}/jobs`, job('x')), 404, 'NOT_FOUND');
  });

  it('carries a 1 MiB input both ways', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    const text = 'a'.repeat(2 ** 20);
    const res = await h.call(ALICE, 'POST', `/v1/allocations/${id}/jobs`, job(text));
    expect(Buffer.from((res.json() as { output: string }).output, 'base64').toString()).toBe(
      text.toUpperCase(),
    );
  });

  it('413 PAYLOAD_TOO_LARGE for an input over the body limit, without running it', async () => {
    const h = harness({ bodyLimitBytes: 4096 });
    const id = await aliceAllocation(h);
    const res = await h.call(ALICE, 'POST', `/v1/allocations/${id}/jobs`, job('b'.repeat(8192)));
    expect(expectError(res, 413, 'PAYLOAD_TOO_LARGE')).toMatch(/larger than 4096 bytes/);
    expect(res.json()).toMatchObject({ error: { details: { limitBytes: 4096 } } });
    expect(h.grm.calls.filter((c) => c.method === 'runJob')).toEqual([]);
  });

  it.each([
    ['TIMEOUT', 503],
    ['ADAPTER_HUNG', 503],
    ['ADAPTER_GONE', 503],
    ['ADAPTER_FAILURE', 502],
    ['JOB_PARAMS', 502],
  ])('%s from the stack -> %i with its code and message', async (code, status) => {
    const h = harness();
    const id = await aliceAllocation(h);
    h.grm.failNext('runJob', new RaError(code, `the job failed: ${code}`));
    const res = await h.call(ALICE, 'POST', `/v1/allocations/${id}/jobs`, job('x'));
    expect(expectError(res, status, code)).toBe(`the job failed: ${code}`);
  });

  it('400 for a non-object body or a bad id, without running anything', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    expectError(
      await h.call(ALICE, 'POST', `/v1/allocations/${id}/jobs`, '"aGVsbG8="'),
      400,
      'INVALID_REQUEST',
    );
    expectError(await h.call(ALICE, 'POST', '/v1/allocations/a%20b/jobs', job('x')), 400, 'INVALID_REQUEST');
    expect(h.grm.calls.filter((c) => c.method === 'runJob')).toEqual([]);
  });
});
