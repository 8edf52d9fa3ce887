// Authentication: /v1 needs `Authorization: Bearer TOKEN`; the public endpoints do not. A refused
// request never reaches the GRM.
import { describe, expect, it } from 'vitest';
import { ALICE, expectError, harness } from './helpers.js';

describe('auth', () => {
  const h = harness();

  const refusals: [string, Record<string, string>, RegExp][] = [
    ['no header', {}, /missing Authorization/],
    ['unknown token', { authorization: 'Bearer not-a-known-token' }, /not valid/],
    ['wrong scheme', { authorization: `Basic ${ALICE}` }, /not valid/],
    ['scheme without token', { authorization: 'Bearer' }, /not valid/],
    ['token with a suffix', { authorization: `Bearer ${ALICE}x` }, /not valid/],
    ['two tokens', { authorization: `Bearer ${ALICE} ${ALICE}` }, /not valid/],
  ];
  it.each(refusals)('401 UNAUTHORIZED for %s, with WWW-Authenticate', async (_name, headers, message) => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/allocations', headers });
    expect(expectError(res, 401, 'UNAUTHORIZED')).toMatch(message);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="rafabric"');
  });

  it('401 before the body is read: a POST without a token does not reach the GRM', async () => {
    const before = h.grm.calls.length;
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: { 'content-type': 'application/json' },
      payload: '{"resources":[{"kind":"memory","bytes":1}]}',
    });
    expectError(res, 401, 'UNAUTHORIZED');
    expect(h.grm.calls.length).toBe(before);
  });

  it('accepts the scheme in any case and passes the tenant the token belongs to', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: '/v1/allocations',
      headers: { authorization: `bearer ${ALICE}` },
    });
    expect(res.statusCode).toBe(200);
    expect(h.grm.calls.at(-1)).toEqual({ method: 'list', args: ['alice'] });
  });

  it.each(['/healthz', '/openapi.json', '/metrics'])('%s needs no token', async (url) => {
    expect((await h.app.inject({ method: 'GET', url })).statusCode).toBe(200);
  });

  it('every /v1 route refuses an unauthenticated request', async () => {
    const routes = [
      ['GET', '/v1/adapters'],
      ['POST', '/v1/allocations'],
      ['GET', '/v1/allocations/x'],
      ['PATCH', '/v1/allocations/x'],
      ['DELETE', '/v1/allocations/x'],
      ['POST', '/v1/allocations/x/jobs'],
      ['GET', '/v1/bitstreams'],
      ['POST', '/v1/bitstreams'],
    ] as const;
    for (const [method, url] of routes) expectError(await h.app.inject({ method, url }), 401, 'UNAUTHORIZED');
    expect(h.grm.mutatingCalls()).toEqual([]);
  });
});
