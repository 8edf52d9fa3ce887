// GET /openapi.json: an OpenAPI 3.1 document that lists exactly the registered routes, whose example
// requests the server accepts, and whose response schemas the responses satisfy.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { statusByCode } from '../../src/api/errors.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { registeredRoutes } from '../../src/api/route-table.js';
import { ALICE, aliceAllocation, harness, OPS } from './helpers.js';

interface Operation {
  summary?: string;
  security?: unknown[];
  requestBody?: { content: { 'application/json': { schema: unknown; example: unknown } } };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: object }> }>;
}
type PathItem = Record<string, Operation | unknown>;
const METHODS = ['get', 'post', 'patch', 'delete', 'put'];
const doc = openApiDocument as unknown as {
  paths: Record<string, PathItem>;
  components: Record<string, unknown>;
};

function operations(): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, op: op as Operation })),
  );
}

/** Validates a response body against the documented schema of its status. */
function validator() {
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema({ $id: 'doc', components: doc.components });
  return (schema: object, body: unknown) => {
    const text = JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/');
    const validate = ajv.compile(JSON.parse(text));
    return validate(body) ? [] : validate.errors;
  };
}

describe('GET /openapi.json', () => {
  it('serves an OpenAPI 3.1 document with the bearer scheme, without auth', async () => {
    const h = harness();
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect(openApiDocument.openapi).toBe('3.1.0');
    expect(openApiDocument.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(openApiDocument['x-status-by-code']).toEqual(Object.fromEntries(statusByCode));
  });

  it('documents exactly the registered routes', async () => {
    const h = harness();
    await h.app.ready();
    const registered = registeredRoutes(h.app)
      .filter((r) => r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    const documented = operations().map(({ method, path }) => `${method} ${path}`);
    expect(new Set(documented)).toEqual(new Set(registered));
    expect(documented.length).toBe(registered.length);
  });

  it('gives every error response the Error schema and every /v1 operation 401', () => {
    const responses = doc.components.responses as Record<
      string,
      { content: Record<string, { schema: unknown }> }
    >;
    for (const response of Object.values(responses)) {
      expect(response.content['application/json']!.schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
    for (const { path, op } of operations()) {
      if (path.startsWith('/v1/')) expect(op.responses['401'], path).toBeDefined();
      // /metrics: open by default, a bearer token with serve --metrics-token (issue 16): optional auth.
      else expect(op.security, path).toEqual(path === '/metrics' ? [{}, { bearer: [] }] : []);
    }
  });

  it('accepts every example request, and answers in the documented schema', async () => {
    const h = harness();
    h.grm.operators.add('ops');
    const check = validator();
    const id = await aliceAllocation(h);
    const gang = (
      await h.call(ALICE, 'POST', '/v1/gangs', { members: [{ resources: [{ kind: 'compute', units: 1 }] }] })
    ).json().id;
    // DELETE last: it releases the allocation the others use.
    const ordered = operations().sort(
      (a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'),
    );
    for (const { method, path, op } of ordered) {
      // A stream never ends, so inject() cannot wait for it: test/ui/20.dashboard-api.test.ts reads it.
      if (op.responses['200']?.content?.['text/event-stream']) continue;
      const example = op.requestBody?.content['application/json'].example;
      // Operator-only operations (issue 16) as the operator; everything else as a tenant.
      const who = String(op.summary ?? '').startsWith('Operators only') ? OPS : ALICE;
      const res = await h.call(
        who,
        method,
        path.replace('{id}', path.startsWith('/v1/gangs/') ? gang : id).replace('{tenant}', 'alice'),
        example,
      );
      expect(res.statusCode, `${method} ${path}: ${res.body}`).toBeLessThan(300);
      const documented = op.responses[String(res.statusCode)];
      expect(documented, `${method} ${path} ${res.statusCode}`).toBeDefined();
      const schema = documented!.content?.['application/json']?.schema;
      if (schema !== undefined) expect(check(schema, res.json()), `${method} ${path}`).toEqual([]);
    }
    expect(
      h.grm
        .mutatingCalls()
        .map((c) => c.method)
        .sort(),
    ).toEqual(
      [
        'allocate',
        'allocate',
        'registerBitstream',
        'release',
        'resize',
        'runJob',
        'allocateGang',
        'allocateGang',
        'releaseGang',
        'setQuota',
      ].sort(),
    );
  });

  it('documents the error envelope the server actually sends', async () => {
    const h = harness();
    const res = await h.call(ALICE, 'GET', '/v1/allocations/al-404');
    expect(validator()({ $ref: '#/components/schemas/Error' }, res.json())).toEqual([]);
  });
});
