// Issue 9 item 2: the data model is written once (src/common/schema/model.ts) and everything else is
// derived from it. Checked as properties, never against a copied field list: every property of the
// model is in the OpenAPI document; a field added to the schema alone is accepted by the GRM's request
// validation, kept by the store and documented; the API refuses an unknown field at any level of a
// request; and the store accepts every record the real GRM writes for a seeded random sample of
// requests drawn from the schema itself (the journal file is read back, not the GRM's view).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openApiDocument } from '../../src/api/openapi.js';
import { createApiServer } from '../../src/api/server.js';
import { functionNames } from '../../src/common/functions.js';
import * as model from '../../src/common/schema/model.js';
import { tagsOf } from '../../src/common/schema/validator.js';
import { validateAllocation } from '../../src/grm/validate.js';
import { checkAllocation, checkIntent } from '../../src/store/validate.js';
import { openApiChecker } from '../api/openapi-check.js';
import { MiB, useEmbedded } from '../grm/helpers.js';
import { Prng } from '../helpers/prng.js';

type Schema = Record<string, unknown>;

/** Every property path a schema declares: `policy.leaseMs`, `resources[].memory.bytes`, ... */
function propertyPaths(schema: Schema, prefix = ''): string[] {
  const out: string[] = [];
  if (Array.isArray(schema.oneOf)) {
    const tag = (schema.discriminator as { propertyName: string } | undefined)?.propertyName;
    for (const [i, branch] of (schema.oneOf as Schema[]).entries()) {
      const label = tag ? tagsOf(schema)[i] : String(i);
      out.push(...propertyPaths(branch, `${prefix}<${label}>`));
    }
  }
  for (const [name, sub] of Object.entries((schema.properties as Record<string, Schema>) ?? {})) {
    const here = `${prefix}.${name}`;
    out.push(here, ...propertyPaths(sub, here));
    if (sub.type === 'array') out.push(...propertyPaths(sub.items as Schema, `${here}[]`));
  }
  return out;
}

/** The model's schemas the API documents, by component name (the component must say the same). */
const documented: Record<string, Schema> = {
  ResourceRequest: model.resourceRequestSchema,
  AllocationPolicy: model.allocationPolicySchema,
  AllocationRequest: model.allocationRequestSchema,
  ResizeRequest: model.resizeRequestSchema,
  JobRequest: model.jobRequestSchema,
  Placement: model.placementSchema,
  AllocatedResource: model.allocatedResourceSchema,
  Allocation: model.allocationSchema,
  AdapterView: model.adapterViewSchema,
};

/** A document's component $refs replaced by the components they name (the model has no cycles). */
function dereferenced<T>(doc: T): T {
  const schemas = (doc as { components: { schemas: Record<string, unknown> } }).components.schemas;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const ref = (v as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/schemas/'))
      return walk(schemas[ref.slice('#/components/schemas/'.length)]);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
  };
  return walk(doc) as T;
}

/** The served document, as a client reads it (JSON, no shared references), its $refs followed. */
const served = () =>
  dereferenced(
    JSON.parse(JSON.stringify(openApiDocument)) as { components: { schemas: Record<string, Schema> } },
  );

describe('one data model: the OpenAPI document', () => {
  it('has every property of every model schema in the component that documents it', () => {
    const components = served().components.schemas;
    let total = 0;
    for (const [name, schema] of Object.entries(documented)) {
      const wanted = propertyPaths(schema);
      total += wanted.length;
      expect(wanted.length, name).toBeGreaterThan(0);
      expect(propertyPaths(components[name]!), name).toEqual(wanted);
    }
    expect(total).toBeGreaterThan(60);
  });

  it('documents a job request for every function engine', () => {
    expect(new Set(tagsOf(served().components.schemas.JobRequest!))).toEqual(new Set(functionNames));
  });

  it('keeps the owner key (store only) out of every documented schema', () => {
    expect(JSON.stringify(served().components.schemas)).not.toContain('ownerKey');
    expect(propertyPaths(model.storedAllocationSchema)).toContain('.ownerKey');
  });
});

const memoryRequest = { resources: [{ kind: 'memory', bytes: MiB }] };
const storedRecord = (policy: Schema) => ({
  id: 'a-0123456789ab',
  tenant: 'alice',
  state: 'active',
  resources: [
    { kind: 'memory', bytes: MiB, placements: [{ adapter: 'h/ra0', slice: 1, offset: 0, bytes: MiB }] },
  ],
  policy,
  createdAt: new Date(0).toISOString(),
  ownerKey: '0123456789abcdef',
});

describe('one data model: one edit adds a field everywhere', () => {
  /** The GRM's and the store's checks and the OpenAPI document, built from a fresh copy of the model. */
  async function layersWith(edit?: (m: typeof model) => void) {
    vi.resetModules();
    const m = await import('../../src/common/schema/model.js');
    edit?.(m);
    const grm = await import('../../src/grm/validate.js');
    const store = await import('../../src/store/validate.js');
    const api = await import('../../src/api/openapi.js');
    return { grm, store, api };
  }
  afterAll(() => vi.resetModules());

  const addWeight = (m: typeof model) => {
    const properties = m.allocationPolicySchema.properties as Record<string, unknown>;
    properties.weight = { type: 'integer', minimum: 0, maximum: 9, description: 'test-only field' };
  };

  it('a policy field added to the schema alone is accepted by the GRM, kept by the store and documented', async () => {
    const { grm, store, api } = await layersWith(addWeight);
    const { policy } = grm.validateAllocation({ ...memoryRequest, policy: { weight: 3 } });
    expect(policy).toEqual({ weight: 3 });
    expect(store.checkAllocation(storedRecord(policy), 'allocation').policy).toEqual({ weight: 3 });
    const doc = dereferenced(JSON.parse(JSON.stringify(api.openApiDocument)));
    expect(doc.components.schemas.AllocationPolicy.properties.weight).toMatchObject({ maximum: 9 });
    expect(doc.components.schemas.Allocation.properties.policy.properties.weight).toBeDefined();
    expect(() => grm.validateAllocation({ ...memoryRequest, policy: { weight: 10 } })).toThrow(
      /policy\.weight must be a non-negative integer up to 9, got 10/,
    );
  });

  it('without the edit, the same field is refused by the GRM and the store (the check above can fail)', async () => {
    const { grm, store, api } = await layersWith();
    expect(() => grm.validateAllocation({ ...memoryRequest, policy: { weight: 3 } })).toThrow(
      /policy: unknown field\(s\) "weight"/,
    );
    expect(() => store.checkAllocation(storedRecord({ weight: 3 }), 'allocation')).toThrow(
      /allocation\.policy\.weight is not a known field/,
    );
    expect(JSON.stringify(api.openApiDocument)).not.toContain('"weight"');
  });
});

/**
 * A random value `schema` accepts: the keywords the model uses (object, oneOf by discriminator, enum,
 * const, integer ranges, strings, booleans, arrays). `choose` overrides a field's values by its path
 * (`resources[].bitstream`) where the pool decides what is meaningful; integers lean to small values
 * so that most requests fit the pool.
 */
function sample(schema: Schema, prng: Prng, choose: Record<string, readonly unknown[]>, at = ''): unknown {
  if (choose[at]) return prng.pick(choose[at]!);
  if (Array.isArray(schema.oneOf)) return sample(prng.pick(schema.oneOf as Schema[]), prng, choose, at);
  if (Array.isArray(schema.enum)) return prng.pick(schema.enum);
  if ('const' in schema) return schema.const;
  switch (schema.type) {
    case 'object': {
      const required = (schema.required as string[] | undefined) ?? [];
      const out: Schema = {};
      for (const [name, sub] of Object.entries((schema.properties as Record<string, Schema>) ?? {})) {
        if (required.includes(name) || prng.chance(0.5))
          out[name] = sample(sub, prng, choose, `${at}.${name}`);
      }
      return out;
    }
    case 'array': {
      const min = (schema.minItems as number | undefined) ?? 0;
      const n = prng.int(min, Math.min((schema.maxItems as number | undefined) ?? 3, 3));
      return Array.from({ length: n }, () => sample(schema.items as Schema, prng, choose, `${at}[]`));
    }
    case 'integer': {
      const min = (schema.minimum as number | undefined) ?? 0;
      const max = (schema.maximum as number | undefined) ?? min + 100;
      return prng.chance(0.9) ? min + prng.int(0, Math.min(max - min, 7)) : max;
    }
    case 'number': {
      const min =
        (schema.exclusiveMinimum as number | undefined) ?? (schema.minimum as number | undefined) ?? 0;
      const max = (schema.maximum as number | undefined) ?? min + 1;
      return prng.chance(0.5) ? max : min + (max - min) / 2;
    }
    case 'boolean':
      return prng.chance(0.5);
    case 'string': {
      const min = (schema.minLength as number | undefined) ?? 1;
      const max = Math.min((schema.maxLength as number | undefined) ?? 16, 16);
      return 'x'.repeat(prng.int(Math.max(min, 1), Math.max(max, 1)));
    }
    default:
      throw new Error(`sample: no rule for ${JSON.stringify(schema).slice(0, 80)} at ${at}`);
  }
}

describe('one data model: the real GRM behind the API', () => {
  const ctx = useEmbedded(2, 128 * MiB);
  const TOKEN = 'alice-token-data-model';
  let app: FastifyInstance;
  const check = openApiChecker();
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${TOKEN}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    expect(check(method, url, res.statusCode, res.headers['content-type'] as string, res.body)).toEqual([]);
    return res;
  };
  const journal = () =>
    readFileSync(path.join(ctx.stateDir, 'store', 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { op: string; data: Schema });

  beforeAll(() => {
    app = createApiServer(ctx.pool.grm, { tokens: new Map([[TOKEN, 'alice']]), logger: false });
  });
  afterAll(() => app?.close());

  it('the store accepts every record the GRM writes for 40 random requests drawn from the schema', async () => {
    const prng = new Prng(0x9d0de1);
    const choose = {
      // Sizes the two 128 MiB adapters can hold now and then; a logic resource names a real bitstream.
      '.resources[].bytes': [4096, MiB, 8 * MiB, 200 * MiB],
      '.resources[].bitstream': ctx.pool.grm.listBitstreams().map((b) => b.id),
      // The request language (docs/grm.md): selectors that parse, no classes or operator-only access
      // (this pool defines none and alice is no operator), constraints on resources that exist, and
      // sameServer naming the pool's one server (another name is refused: test/grm/80.request-language).
      '.resources[].selector': ['zone == "default"', 'freeMemoryBytes >= 4096', undefined],
      '.resources[].class': [undefined],
      '.resources[].adminAccess': [undefined, false],
      '.resources[].alternatives[].bytes': [4096, MiB, 200 * MiB],
      '.resources[].alternatives[].bitstream': ctx.pool.grm.listBitstreams().map((b) => b.id),
      '.resources[].alternatives[].selector': ['"sha256" in functions', undefined],
      '.resources[].alternatives[].class': [undefined],
      '.resources[].alternatives[].adminAccess': [undefined, false],
      '.constraints[].resources': [undefined, [0]],
      '.policy.sameServer': [os.hostname(), undefined],
      // An hour: no lease ends and no idle reclaim runs while the test looks at the allocation.
      '.policy.leaseMs': [3_600_000],
      '.policy.idleReclaimMs': [3_600_000],
      // Elastic bounds must hold the request's compute units (a cross-field rule no sampler draws from
      // the schema); test/elastic/40.validate covers them.
      '.policy.elastic': [undefined],
    };
    const outcomes = new Map<string, number>();
    const made: Schema[] = [];
    for (let i = 0; i < 40; i++) {
      const request = sample(model.allocationRequestSchema, prng, choose) as Schema;
      expect(() => validateAllocation(request), JSON.stringify(request)).not.toThrow();
      const res = await call('POST', '/v1/allocations', request);
      const outcome = res.statusCode === 201 ? '201' : (res.json() as { error: { code: string } }).error.code;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      // Only "does not fit" may refuse a valid request; never the store, never validation.
      expect(['201', 'RESOURCE_UNAVAILABLE'], `${JSON.stringify(request)}: ${res.body}`).toContain(outcome);
      if (res.statusCode !== 201) continue;
      const allocation = res.json() as Schema;
      made.push(allocation);
      const resources = allocation.resources as { kind: string; placements: unknown[] }[];
      const memory = resources.findIndex((r) => r.kind === 'memory' && r.placements.length === 1);
      if (memory >= 0 && prng.chance(0.5)) {
        const resized = await call('PATCH', `/v1/allocations/${allocation.id}`, {
          resource: memory,
          bytes: 2 * MiB,
        });
        expect([200, 409]).toContain(resized.statusCode);
      }
      if (prng.chance(0.6))
        expect((await call('DELETE', `/v1/allocations/${allocation.id}`)).statusCode).toBe(204);
    }
    expect(outcomes.get('201') ?? 0).toBeGreaterThanOrEqual(15);
    const records = journal();
    const commits = records.filter((r) => r.op === 'commit' || r.op === 'update');
    for (const r of commits) checkAllocation(r.data, 'data');
    for (const r of records.filter((x) => x.op === 'intent')) checkIntent(r.data, 'data');
    // What each client was told is exactly what the store keeps, less the owner key.
    for (const a of made) {
      const first = commits.find((r) => r.op === 'commit' && r.data.id === a.id)!;
      const { ownerKey, ...kept } = first.data;
      expect(ownerKey).toMatch(/^[0-9a-f]{16}$/);
      expect(kept).toEqual(a);
    }
  });

  it('the API refuses an unknown field at every level of a request, naming it, and writes nothing', async () => {
    const prng = new Prng(0x0bad);
    const before = journal().length;
    for (let i = 0; i < 20; i++) {
      const request = sample(model.allocationRequestSchema, prng, {
        '.resources[].bytes': [4096],
        '.policy.elastic': [undefined],
        // The sampler does not keep uniqueItems: a repeated index would be the first problem named.
        '.constraints': [undefined],
      }) as {
        resources: Schema[];
        policy?: Schema;
      };
      const field = `zz${prng.int(0, 999)}`;
      const where = prng.pick(['request', 'policy', 'resource'] as const);
      if (where === 'request') (request as Schema)[field] = 1;
      if (where === 'policy') request.policy = { ...request.policy, [field]: true };
      if (where === 'resource') prng.pick(request.resources)[field] = 'x';
      const res = await call('POST', '/v1/allocations', request);
      expect(res.statusCode, JSON.stringify(request)).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'INVALID_REQUEST', details: { unknownFields: 1 } } });
      expect(res.json().error.message).toContain(`unknown field(s) "${field}"`);
    }
    expect(journal().length).toBe(before);
  });
});
