// The OpenAPI document, as the code produces it, linted by the pinned @redocly/cli with its
// recommended ruleset: no error and no warning. A copy with known defects is linted too, so a lint
// that silently checks nothing cannot pass.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/api/openapi.js';

const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'node_modules/@redocly/cli/bin/cli.js');
const pinned = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  }
).devDependencies['@redocly/cli'];

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  version: string;
  problems: { ruleId: string; severity: string; message: string; location: { pointer?: string }[] }[];
}

describe('redocly lint (recommended) of the OpenAPI document', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'openapi-lint-'));
  // The recommended ruleset, written out so the run does not depend on a config found elsewhere;
  // telemetry off, like the environment below: nothing leaves the machine.
  const config = path.join(dir, 'redocly.yaml');
  writeFileSync(config, 'extends:\n  - recommended\ntelemetry: off\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function lint(doc: unknown, name: string): LintReport {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const r = spawnSync(process.execPath, [cli, 'lint', file, '--config', config, '--format=json'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        NO_COLOR: '1',
      },
      timeout: 120_000,
    });
    expect(r.stdout, r.stderr).toMatch(/"totals"/);
    return JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as LintReport;
  }

  it('finds no error and no warning, with the pinned version', () => {
    const report = lint(openApiDocument, 'openapi.json');
    const found = report.problems.map(
      (p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`,
    );
    expect(found).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
    expect(report.version).toBe(pinned);
  }, 120_000);

  it('does find the defects the issue listed when they are put back', () => {
    const broken = JSON.parse(JSON.stringify(openApiDocument)) as {
      servers?: unknown;
      info: { license?: unknown };
      paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>>;
    };
    delete broken.servers;
    delete broken.info.license;
    delete broken.paths['/v1/adapters']!.get!.operationId;
    broken.paths['/healthz']!.get!.responses = { '200': broken.paths['/healthz']!.get!.responses['200'] };
    const report = lint(broken, 'broken.json');
    const rules = new Set(report.problems.map((p) => p.ruleId));
    expect(report.totals.errors).toBeGreaterThan(0);
    for (const rule of [
      'no-empty-servers',
      'info-license',
      'operation-operationId',
      'operation-4xx-response',
    ])
      expect(rules, rule).toContain(rule);
  }, 120_000);
});
