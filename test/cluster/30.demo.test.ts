// The main job spans servers: `rafabric demo` runs its agents as separate processes (one per
// server, one fabric), spreads an allocation over two servers and moves bytes between adapters of
// different servers by DMA, verified byte for byte — every check computed, none hard-coded.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI } from './helpers.js';

interface Step {
  step: string;
  result: string;
  placements: string;
  check: string;
}

describe('rafabric demo on several servers', () => {
  it('spreads memory over two servers and verifies a DMA between them', () => {
    const r = spawnSync(
      process.execPath,
      [CLI, 'demo', '--json', '--servers', '2', '--adapters', '2', '--memory', '256M'],
      {
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, RAFABRIC_LOG: 'warn' },
      },
    );
    expect(r.status, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; steps: Step[] };
    expect(out.steps.filter((s) => s.check === 'FAIL')).toEqual([]);
    expect(out.ok).toBe(true);
    const step = (name: RegExp) => out.steps.find((s) => name.test(s.step))!;
    expect(step(/^pool/).result).toMatch(/^2 servers \(agents over gRPC \+ mTLS\), 4 adapters/);
    const spread = step(/memory spread over two servers/);
    expect(spread.check).toBe('pass');
    expect(spread.placements).toMatch(/server1\/ra\d/);
    expect(spread.placements).toMatch(/server2\/ra\d/);
    const dma = step(/DMA between adapters of two servers/);
    expect(dma.check).toBe('pass');
    // From an adapter of server1 to one of server2, read back equal.
    expect(dma.placements).toMatch(/^server1\/ra\d#\d+ -> server2\/ra\d#\d+$/);
    expect(dma.result).toMatch(/byte for byte: true/);
  });

  it('refuses bad flags with a clear message and exit code 2', () => {
    const r = spawnSync(process.execPath, [CLI, 'demo', '--servers', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--servers: must be 2\.\.8, got 1/);
  });
});
