// The main job: `rafabric demo` runs the guided tour on an embedded pool and every check passes.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

describe('rafabric demo', () => {
  it('passes every step (--json)', () => {
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'bin/rafabric.js'), 'demo', '--json', '--adapters', '3', '--memory', '1G'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; steps: { step: string; check: string }[] };
    expect(out.ok).toBe(true);
    expect(out.steps.length).toBeGreaterThanOrEqual(7);
    expect(out.steps.filter((s) => s.check === 'FAIL')).toEqual([]);
  });

  it('refuses bad flags with a clear message and exit code 2', () => {
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'bin/rafabric.js'), 'demo', '--adapters', 'lots'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--adapters/);
  });
});
