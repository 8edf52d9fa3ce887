// The client types generated from the document (src/api/generated/openapi.d.ts, `npm run gen:api`)
// are committed; this checks they are what the pinned openapi-typescript makes of the document the
// code produces now, and that requests may leave out what the server defaults.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { components } from '../../src/api/generated/openapi.js';
import { openApiDocument } from '../../src/api/openapi.js';

const root = path.resolve(import.meta.dirname, '../..');
const committed = path.join(root, 'src/api/generated/openapi.d.ts');

// Compiled by `npm run typecheck`: a request with only a lease is a valid AllocationRequest (a policy
// field with a JSON Schema `default` was generated as required, so this did not compile).
const leaseOnly: components['schemas']['AllocationRequest'] = {
  resources: [{ kind: 'memory', bytes: 1024 }],
  policy: { leaseMs: 1000 },
};

describe('generated API types (openapi-typescript)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'openapi-types-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function generate(doc: unknown, name: string): string {
    const docPath = path.join(dir, `${name}.json`);
    const out = path.join(dir, `${name}.d.ts`);
    writeFileSync(docPath, JSON.stringify(doc));
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/gen-api.mjs'), docPath, out], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    return readFileSync(out, 'utf8');
  }

  it('are up to date with the document (run `npm run gen:api` when this fails)', () => {
    expect(generate(openApiDocument, 'current')).toBe(readFileSync(committed, 'utf8'));
  }, 120_000);

  it('leave every policy field optional in requests, as the server does', () => {
    const policy = /AllocationPolicy: \{([\s\S]*?)\n {8}\};/.exec(readFileSync(committed, 'utf8'))![1]!;
    const fields = [...policy.matchAll(/^ {12}(\w+)(\??):/gm)].map((m) => `${m[1]}${m[2]}`);
    expect(fields).toContain('allowSplit?');
    expect(fields).toContain('onAdapterFailure?');
    expect(fields.filter((f) => !f.endsWith('?'))).toEqual([]);
    expect(Object.keys(leaseOnly.policy!)).toEqual(['leaseMs']);
  });

  it('would make a field with a `default` required (why the document states defaults in words)', () => {
    const doc = JSON.parse(JSON.stringify(openApiDocument)) as {
      components: { schemas: { AllocationPolicy: { properties: Record<string, Record<string, unknown>> } } };
    };
    doc.components.schemas.AllocationPolicy.properties.allowSplit!.default = true;
    expect(generate(doc, 'with-default')).toMatch(/\n {12}allowSplit: boolean;/);
  }, 120_000);
});
