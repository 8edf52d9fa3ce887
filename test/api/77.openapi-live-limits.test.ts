// The limits, enums and refusals the document states, against the real GRM (embedded pool, real device
// model): each is read from the document, then the server is shown to enforce exactly it, and every
// answer is checked against the document (status documented, body fits its schema).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/api/openapi.js';
import { createApiServer } from '../../src/api/server.js';
import { openServerCatalog } from '../../src/bitstream/shipped.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';
import { MiB, quietLog } from '../grm/helpers.js';
import { openApiChecker } from './openapi-check.js';

const TOKEN = 'live-limits-token';
type Schema = Record<string, unknown> & { properties?: Record<string, Schema> };
const doc = JSON.parse(JSON.stringify(openApiDocument)) as {
  info: { description: string };
  components: { schemas: Record<string, Schema> };
};
const component = (name: string) => doc.components.schemas[name]!;

describe('limits and refusals the document states, enforced by the real GRM', () => {
  let pool: Embedded;
  let stateDir: string;
  let app: FastifyInstance;
  const check = openApiChecker();
  const problems: string[] = [];

  async function call(method: string, url: string, body?: unknown) {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    problems.push(
      ...check(method, url, res.statusCode, res.headers['content-type'] as string | undefined, res.body),
    );
    return res;
  }
  const errorOf = (res: { json: () => unknown }) =>
    (res.json() as { error: { code: string; message: string } }).error;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'api-limits-'));
    pool = await startEmbedded({
      adapters: 2,
      memoryBytes: 64 * MiB,
      stateDir,
      log: quietLog,
      reallocateEveryMs: 3_600_000,
      catalog: openServerCatalog({ dir: path.join(stateDir, 'bitstreams') }),
    });
    app = createApiServer(pool.grm, { tokens: new Map([[TOKEN, 'alice']]), logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await pool?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('a policy with only leaseMs is accepted and answered as sent (absent fields not filled in)', async () => {
    const res = await call('POST', '/v1/allocations', {
      resources: [{ kind: 'memory', bytes: MiB }],
      policy: { leaseMs: 60_000 },
    });
    expect(res.statusCode, res.body).toBe(201);
    const a = res.json() as { id: string; policy: unknown };
    expect(a.policy).toEqual({ leaseMs: 60_000 });
    // The document states the defaults in words, never as `default` (generated clients would require them).
    expect(JSON.stringify(doc.components.schemas)).not.toMatch(/"default":/);
    expect(component('AllocationPolicy').properties!.allowSplit!.description).toMatch(/Absent: true/);
    expect((await call('DELETE', `/v1/allocations/${a.id}`)).statusCode).toBe(204);
    expect(problems).toEqual([]);
  });

  it('at most maxItems resources (64): one more is refused, that many is accepted', async () => {
    const maxItems = component('AllocationRequest').properties!.resources!.maxItems as number;
    expect(maxItems).toBe(64);
    const memory = { kind: 'memory', bytes: 4096 };
    const over = await call('POST', '/v1/allocations', { resources: Array(maxItems + 1).fill(memory) });
    expect(over.statusCode).toBe(400);
    expect(errorOf(over).message).toMatch(/resources must be a non-empty array of at most 64 items/);
    const atLimit = await call('POST', '/v1/allocations', { resources: Array(maxItems).fill(memory) });
    expect(atLimit.statusCode, atLimit.body).toBe(201);
    const id = (atLimit.json() as { id: string }).id;
    expect((await call('DELETE', `/v1/allocations/${id}`)).statusCode).toBe(204);
    expect(problems).toEqual([]);
  });

  it('accelerator functions are the enum: each is accepted, any other name refused naming them', async () => {
    const names = component('AcceleratorRequest').properties!.function!.enum as string[];
    expect(names.length).toBeGreaterThan(0);
    const ok = await call('POST', '/v1/allocations', {
      resources: names.map((f) => ({ kind: 'accelerator', function: f })),
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const bad = await call('POST', '/v1/allocations', {
      resources: [{ kind: 'accelerator', function: 'md5' }],
    });
    expect(bad.statusCode).toBe(400);
    for (const f of names) expect(errorOf(bad).message).toContain(f);
    expect((await call('DELETE', `/v1/allocations/${(ok.json() as { id: string }).id}`)).statusCode).toBe(
      204,
    );
    expect(problems).toEqual([]);
  });

  it('every request object refuses unknown fields (additionalProperties false), and the server does', async () => {
    const open: string[] = [];
    const walk = (s: unknown, at: string) => {
      if (typeof s !== 'object' || s === null) return;
      const schema = s as Schema;
      if (schema.type === 'object' && schema.properties && schema.additionalProperties !== false)
        open.push(at);
      for (const [k, v] of Object.entries(schema.properties ?? {})) walk(v, `${at}.${k}`);
      for (const key of ['items', 'oneOf'] as const) {
        const sub = schema[key];
        for (const [i, v] of (Array.isArray(sub) ? sub : [sub]).entries()) walk(v, `${at}.${key}[${i}]`);
      }
    };
    for (const name of [
      'AllocationRequest',
      'AllocationPolicy',
      'ElasticPolicy',
      'AcceleratorRequest',
      'MemoryRequest',
      'ComputeRequest',
      'LogicRequest',
      'ResizeRequest',
      'AesGcmJob',
      'MatmulJob',
      'StreamJob',
    ])
      walk(component(name), name);
    expect(open).toEqual([]);
    for (const body of [
      { resources: [{ kind: 'memory', bytes: MiB }], colour: 'red' },
      { resources: [{ kind: 'memory', bytes: MiB, colour: 'red' }] },
      { resources: [{ kind: 'memory', bytes: MiB }], policy: { leaseMs: 1000, colour: 'red' } },
    ]) {
      const res = await call('POST', '/v1/allocations', body);
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).message).toMatch(/unknown field\(s\) "colour"/);
    }
    expect(problems).toEqual([]);
  });

  it('aes-256-gcm key and iv are hex as documented: base64 of the same bytes is refused', async () => {
    const params = (component('AesGcmJob').properties!.params as Schema).properties!;
    expect(params.key!.description).toMatch(/64 hex digits/);
    expect(params.iv!.description).toMatch(/24 hex digits/);
    const created = await call('POST', '/v1/allocations', {
      resources: [{ kind: 'accelerator', function: 'aes-256-gcm' }],
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = (created.json() as { id: string }).id;
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const input = randomBytes(64).toString('base64');
    const asBase64 = await call('POST', `/v1/allocations/${id}/jobs`, {
      function: 'aes-256-gcm',
      params: { key: key.toString('base64'), iv: iv.toString('base64') },
      input,
    });
    expect(asBase64.statusCode).toBe(400);
    expect(errorOf(asBase64).message).toMatch(/params\.key must be 64 hex digits/);
    // The value's own length (44 base64 characters), not that of its JSON quotation.
    expect(errorOf(asBase64).message).toMatch(/\(44 characters\)/);
    const asHex = await call('POST', `/v1/allocations/${id}/jobs`, {
      function: 'aes-256-gcm',
      params: { key: key.toString('hex'), iv: iv.toString('hex') },
      input,
    });
    expect(asHex.statusCode, asHex.body).toBe(200);
    expect((await call('DELETE', `/v1/allocations/${id}`)).statusCode).toBe(204);
    expect(problems).toEqual([]);
  });

  it('a method a path does not list is 405 with Allow, as the document says', async () => {
    expect(doc.info.description).toMatch(/405 METHOD_NOT_ALLOWED and an Allow header/);
    const paths = openApiDocument.paths as Record<string, object>;
    for (const [method, url, template] of [
      ['POST', '/healthz', '/healthz'],
      ['PUT', '/v1/allocations', '/v1/allocations'],
      ['POST', '/v1/allocations/a-000000000000', '/v1/allocations/{id}'],
    ] as const) {
      const res = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode, `${method} ${url}`).toBe(405);
      expect(errorOf(res).code).toBe('METHOD_NOT_ALLOWED');
      // Allow names exactly the documented methods of the path (and HEAD, which fastify adds to a GET).
      const documented = Object.keys(paths[template]!)
        .filter((k) => ['get', 'post', 'patch', 'delete', 'put'].includes(k))
        .map((k) => k.toUpperCase());
      if (documented.includes('GET')) documented.push('HEAD');
      expect(res.headers.allow, url).toBe(documented.sort().join(', '));
    }
  });

  it('headers over 16 KiB are 431 on a public path, as documented (a real socket: Node answers it)', async () => {
    const healthz = (openApiDocument.paths as unknown as Record<string, { get: { responses: object } }>)[
      '/healthz'
    ]!;
    expect(Object.keys(healthz.get.responses)).toContain('431');
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = new URL(address);
    const status = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (d) => {
        text += d;
      });
      socket.on('close', () => resolve(text.split('\r\n')[0]!));
      socket.on('error', reject);
    });
    expect(status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
  });
});
