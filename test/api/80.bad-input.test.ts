// Bad input refused at the edge, in the envelope, without touching the GRM — and the server keeps
// serving after a barrage of it.
import { describe, expect, it } from 'vitest';
import { ALICE, aliceAllocation, expectError, harness } from './helpers.js';

const post = (payload: string, contentType?: string) => ({
  method: 'POST' as const,
  url: '/v1/allocations',
  headers: { authorization: `Bearer ${ALICE}`, ...(contentType ? { 'content-type': contentType } : {}) },
  payload,
});

describe('bad input', () => {
  it.each([
    ['{bad', /malformed JSON/],
    ['{"resources": [', /malformed JSON/],
    ['{"a":1}}', /malformed JSON/],
    ["{'a':1}", /malformed JSON/],
    ['\u0000', /malformed JSON/],
    ['', /empty/],
  ])('400 INVALID_REQUEST for the body %j', async (payload, message) => {
    const h = harness();
    expect(
      expectError(await h.app.inject(post(payload, 'application/json')), 400, 'INVALID_REQUEST'),
    ).toMatch(message);
    expect(h.grm.calls).toEqual([]);
  });

  it.each([
    '{"__proto__":{"admin":true},"resources":[]}',
    '{"resources":[{"kind":"memory","bytes":1,"__proto__":{"x":1}}]}',
    '{"constructor":{"prototype":{"admin":true}}}',
  ])('400 for a prototype-polluting key: %s', async (payload) => {
    const h = harness();
    expect(
      expectError(await h.app.inject(post(payload, 'application/json')), 400, 'INVALID_REQUEST'),
    ).toMatch(/forbidden key/);
    expect(h.grm.calls).toEqual([]);
  });

  it('accepts "constructor" as an ordinary key', async () => {
    const h = harness();
    const res = await h.app.inject(
      post('{"resources":[{"kind":"memory","bytes":1}],"constructor":"x"}', 'application/json'),
    );
    expect(res.statusCode).toBe(201);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['no content type', undefined],
  ])('415 UNSUPPORTED_MEDIA_TYPE for %s', async (_name, type) => {
    const h = harness();
    const res = await h.app.inject(post('{"resources":[]}', type));
    expect(expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE')).toMatch(/Content-Type: application\/json/);
    expect(h.grm.calls).toEqual([]);
  });

  it('accepts application/json with a charset', async () => {
    const h = harness();
    const res = await h.app.inject(
      post('{"resources":[{"kind":"memory","bytes":1}]}', 'application/json; charset=utf-8'),
    );
    expect(res.statusCode).toBe(201);
  });

  it('413 PAYLOAD_TOO_LARGE over the limit, before the GRM is called', async () => {
    const h = harness({ bodyLimitBytes: 1024 });
    const big = JSON.stringify({ resources: [{ kind: 'memory', bytes: 1, pad: 'x'.repeat(2048) }] });
    expectError(await h.app.inject(post(big, 'application/json')), 413, 'PAYLOAD_TOO_LARGE');
    expect(h.grm.calls).toEqual([]);
  });

  it('the default limit is 64 MiB', async () => {
    const h = harness();
    const big = `{"pad":"${'x'.repeat(64 * 2 ** 20)}"}`;
    expectError(await h.app.inject(post(big, 'application/json')), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('404 NOT_FOUND for an unknown route, with or without a token', async () => {
    const h = harness();
    expect(
      expectError(await h.app.inject({ method: 'GET', url: '/v2/allocations' }), 404, 'NOT_FOUND'),
    ).toMatch(/openapi\.json/);
    expectError(await h.call(ALICE, 'GET', '/v1/allocations/x/y/z'), 404, 'NOT_FOUND');
    expectError(await h.call(ALICE, 'GET', '/v1/adapters/'), 404, 'NOT_FOUND');
  });

  it.each([
    ['PUT', '/v1/allocations/al-1', 'DELETE, GET, HEAD, PATCH'],
    ['POST', '/v1/allocations/al-1', 'DELETE, GET, HEAD, PATCH'],
    ['DELETE', '/v1/allocations', 'GET, HEAD, POST'],
    ['GET', '/v1/allocations/al-1/jobs', 'POST'],
    ['POST', '/healthz', 'GET, HEAD'],
  ])('405 METHOD_NOT_ALLOWED for %s %s, with Allow: %s', async (method, url, allow) => {
    const h = harness();
    const res = await h.call(ALICE, method, url);
    expectError(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe(allow);
    expect(h.grm.calls).toEqual([]);
  });

  // Found from outside: with a JSON content type the body was parsed first, so an empty or malformed one
  // answered 400 where the method itself is not allowed (and before any token was asked for).
  it.each([
    ['POST', '/healthz', '', 'GET, HEAD'],
    ['POST', '/healthz', '{', 'GET, HEAD'],
    ['POST', '/v1/allocations/al-1', '', 'DELETE, GET, HEAD, PATCH'],
    ['PUT', '/v1/allocations/al-1', '{"resources":', 'DELETE, GET, HEAD, PATCH'],
  ])(
    '405 for %s %s with a JSON content type and the body %j: the body is not read',
    async (method, url, payload, allow) => {
      const h = harness();
      const res = await h.app.inject({
        method: method as 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expectError(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.allow).toBe(allow);
      expect(h.grm.calls).toEqual([]);
    },
  );

  it('400 for a malformed percent-encoding in the URL', async () => {
    const h = harness();
    expect(expectError(await h.call(ALICE, 'GET', '/v1/allocations/%zz'), 400, 'INVALID_REQUEST')).toMatch(
      /URL/,
    );
  });

  it('keeps serving after a barrage of bad requests, none of which reached a mutating GRM method', async () => {
    const h = harness({ bodyLimitBytes: 4096 });
    const id = await aliceAllocation(h);
    const mutatingBefore = h.grm.mutatingCalls().length;
    const barrage = [
      h.app.inject(post('{bad', 'application/json')),
      h.app.inject(post('', 'application/json')),
      h.app.inject(post('[]', 'application/json')),
      h.app.inject(post('{"x":1}', 'text/plain')),
      h.app.inject(post('x'.repeat(10_000), 'application/json')),
      h.app.inject(post('{"__proto__":{}}', 'application/json')),
      h.app.inject({
        method: 'POST',
        url: '/v1/allocations',
        payload: '{}',
        headers: { 'content-type': 'application/json' },
      }),
      h.call('wrong-token-123', 'DELETE', `/v1/allocations/${id}`),
      h.call(ALICE, 'DELETE', '/v1/allocations/../../etc'),
      h.call(ALICE, 'PATCH', `/v1/allocations/${id}`, 'null'),
      h.call(ALICE, 'POST', `/v1/allocations/${id}/jobs`, '{"input":'),
      h.call(ALICE, 'GET', '/v1/allocations/%E0%A4%A'),
      h.call(ALICE, 'TRACE', '/v1/allocations'),
      h.call(ALICE, 'GET', `/v1/allocations/${'z'.repeat(2000)}`),
    ];
    const statuses = (await Promise.all(barrage)).map((res) => res.statusCode);
    for (const status of statuses) expect(status).toBeGreaterThanOrEqual(400);
    expect(h.grm.mutatingCalls().length).toBe(mutatingBefore);
    expect(h.grm.allocations.has(id)).toBe(true);
    const good = await h.call(ALICE, 'POST', '/v1/allocations', {
      resources: [{ kind: 'compute', units: 2 }],
    });
    expect(good.statusCode).toBe(201);
    expect((await h.call(ALICE, 'GET', `/v1/allocations/${id}`)).statusCode).toBe(200);
  });
});
