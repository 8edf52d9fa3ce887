// Watch's change detection on its own: the first sample is everything, a moving clock alone is no
// change, any change of health, tables or counters is, and an adapter that appears is reported.
import { describe, expect, it } from 'vitest';
import type { AgentAdapter } from '../../src/agent/agent.js';
import { ChangeTracker } from '../../src/agent/rpc/changes.js';
import { incompatibility } from '../../src/agent/rpc/schema.js';

const adapter = (id: string, over: Partial<AgentAdapter> = {}): AgentAdapter => ({
  id,
  uri: `shm:///x/${id}.sock`,
  server: 's',
  fabricId: 0,
  health: 'healthy',
  memoryBytes: 1 << 26,
  memoryAlignBytes: 1 << 20,
  computeUnits: 16,
  slotCount: 4,
  contextsPerEngine: 8,
  sliceEntries: 64,
  functionsSupported: ['sha256'],
  clockNs: 1,
  slots: [],
  slices: [],
  ...over,
});
const slice = {
  entry: 0,
  kind: 'memory',
  state: 'active',
  base: 0,
  length: 1 << 20,
  ownerKey: '0123456789abcdef',
  bytesMoved: 0,
  busyNs: 0,
  jobs: 0,
  lastActiveNs: 0,
};

describe('ChangeTracker', () => {
  it('reports everything first, then only what changed', () => {
    const t = new ChangeTracker();
    expect(t.changed([adapter('a'), adapter('b')]).map((a) => a.id)).toEqual(['a', 'b']);
    expect(t.changed([adapter('a', { clockNs: 99 }), adapter('b', { clockNs: 99 })])).toEqual([]);
    expect(t.changed([adapter('a', { health: 'unhealthy' }), adapter('b')]).map((a) => a.id)).toEqual(['a']);
    expect(
      t.changed([adapter('a', { health: 'unhealthy' }), adapter('b', { slices: [slice] })]).map((a) => a.id),
    ).toEqual(['b']);
    // utilization counters are changes too
    expect(
      t
        .changed([adapter('a', { health: 'unhealthy' }), adapter('b', { slices: [{ ...slice, jobs: 1 }] })])
        .map((a) => a.id),
    ).toEqual(['b']);
    expect(
      t
        .changed([
          adapter('a', { health: 'unhealthy' }),
          adapter('b', { slices: [{ ...slice, jobs: 1 }] }),
          adapter('c'),
        ])
        .map((a) => a.id),
    ).toEqual(['c']);
  });
});

describe('protocol versions', () => {
  it.each([
    ['1.0', '1.0', undefined],
    ['1.0', '1.9', undefined],
    ['1.3', '1.0', undefined],
    ['1.0', '2.0', /major versions differ \(1\.0 here, 2\.0 there\)/],
    ['2.1', '1.1', /major versions differ/],
    ['1.0', 'v1', /not MAJOR\.MINOR/],
    ['1.0', '', /not MAJOR\.MINOR/],
  ])('%s against %s', (ours, theirs, why) => {
    const got = incompatibility(ours, theirs);
    if (why) expect(got).toMatch(why);
    else expect(got).toBeUndefined();
  });
});
