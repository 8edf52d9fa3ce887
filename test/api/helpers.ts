// A server on a FakeGrm with two tenants, and the assertions every endpoint's tests share.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { type ApiServerOptions, createApiServer } from '../../src/api/server.js';
import { FakeGrm } from './fake-grm.js';

export const ALICE = 'alice-token-0001';
export const BOB = 'bob-token-0002';
/** The token of tenant "ops", an operator when a test adds it to grm.operators (issue 16). */
export const OPS = 'ops-token-0003';

export interface Harness {
  grm: FakeGrm;
  app: FastifyInstance;
  /** An authenticated JSON request; `body` is sent JSON-encoded unless it is already a string. */
  call(token: string, method: string, url: string, body?: unknown): Promise<LightMyRequestResponse>;
}

export function harness(options: Partial<ApiServerOptions> = {}): Harness {
  const grm = new FakeGrm();
  const tokens = new Map([
    [ALICE, 'alice'],
    [BOB, 'bob'],
    [OPS, 'ops'],
  ]);
  const app = createApiServer(grm, { tokens, logger: false, ...options });
  const call = (token: string, method: string, url: string, body?: unknown) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  return { grm, app, call };
}

/** The response is the error envelope, exactly, with this status and code; returns the message. */
export function expectError(res: LightMyRequestResponse, status: number, code: string): string {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json() as { error: { code: string; message: string; details?: unknown } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  for (const key of Object.keys(body.error)) expect(['code', 'message', 'details']).toContain(key);
  // No stack trace ever leaves the server.
  expect(res.body).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
  return body.error.message;
}

/** Alice's first allocation: 1 GiB of memory. */
export async function aliceAllocation(h: Harness): Promise<string> {
  const res = await h.call(ALICE, 'POST', '/v1/allocations', {
    resources: [{ kind: 'memory', bytes: 2 ** 30 }],
  });
  expect(res.statusCode).toBe(201);
  return (res.json() as { id: string }).id;
}
