// GET /v1/bitstreams and POST /v1/bitstreams: the catalog, and registration with its refusals
// mapped by the status table (400 bad descriptor, 403 signature policy, 409 exists).
import { describe, expect, it } from 'vitest';
import { RaError } from '../../src/common/errors.js';
import { ALICE, expectError, harness } from './helpers.js';

const registration = (descriptor: Record<string, unknown>) => ({ descriptor, image: 'UkFCSVQ=' });

describe('GET /v1/bitstreams', () => {
  it('200 with the catalog', async () => {
    const h = harness();
    const res = await h.call(ALICE, 'GET', '/v1/bitstreams');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([{ id: 'crc32c-1', function: 'crc32c', version: '1.0.0', signed: true }]);
  });
});

describe('POST /v1/bitstreams', () => {
  it('201 with the id; the GRM gets the body as sent', async () => {
    const h = harness();
    const body = registration({ id: 'my-crc' });
    const res = await h.call(ALICE, 'POST', '/v1/bitstreams', body);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: 'my-crc' });
    expect(h.grm.calls).toEqual([{ method: 'registerBitstream', args: [body] }]);
  });

  it('409 BITSTREAM_EXISTS for an id already in the catalog', async () => {
    const h = harness();
    expectError(
      await h.call(ALICE, 'POST', '/v1/bitstreams', registration({ id: 'crc32c-1' })),
      409,
      'BITSTREAM_EXISTS',
    );
  });

  it('403 BITSTREAM_UNSIGNED when the policy wants a signature', async () => {
    const h = harness();
    const res = await h.call(ALICE, 'POST', '/v1/bitstreams', registration({ id: 'x', signed: false }));
    expectError(res, 403, 'BITSTREAM_UNSIGNED');
  });

  it('400 BITSTREAM_DESCRIPTOR / INVALID_REQUEST from the GRM', async () => {
    const h = harness();
    expectError(await h.call(ALICE, 'POST', '/v1/bitstreams', registration({})), 400, 'BITSTREAM_DESCRIPTOR');
    expectError(await h.call(ALICE, 'POST', '/v1/bitstreams', { descriptor: {} }), 400, 'INVALID_REQUEST');
  });

  it("500 INTERNAL (generic) for BITSTREAM_KEY: a broken server trust store is not the client's fault", async () => {
    const h = harness();
    h.grm.failNext(
      'registerBitstream',
      new RaError('BITSTREAM_KEY', '/etc/rafabric/trust/k1.pem: not a PEM key'),
    );
    const message = expectError(
      await h.call(ALICE, 'POST', '/v1/bitstreams', registration({ id: 'y' })),
      500,
      'INTERNAL',
    );
    expect(message).not.toContain('/etc');
  });

  it('400 for a non-object body without calling the GRM', async () => {
    const h = harness();
    expectError(await h.call(ALICE, 'POST', '/v1/bitstreams', '["UkFCSVQ="]'), 400, 'INVALID_REQUEST');
    expect(h.grm.calls).toEqual([]);
  });
});
