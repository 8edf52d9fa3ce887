// Utilization of a resource from two samples of its slices' ra-spec §10 counters.
import { describe, expect, it } from 'vitest';
import { byEntry, resourceUtilization } from '../../src/grm/elastic/index.js';
import type { SliceSample } from '../../src/rvl/index.js';

const sample = (entry: number, atNs: number, busyNs: number, allocation = 'a1'): SliceSample => ({
  adapter: 'ra0',
  entry,
  allocation,
  sampledAtNs: atNs,
  lastActiveNs: busyNs > 0 ? atNs : 0,
  busyNs,
  bytesMoved: 0,
  jobs: 0,
});

describe('resource utilization', () => {
  const entries = [
    { adapter: 'ra0', entry: 1 },
    { adapter: 'ra0', entry: 2 },
  ];

  it('is the busiest slice’s busy share of the window', () => {
    const before = byEntry([sample(1, 1e9, 0), sample(2, 1e9, 5e8)]);
    const after = byEntry([sample(1, 2e9, 2.5e8), sample(2, 2e9, 1.25e9)]);
    expect(resourceUtilization(entries, 'a1', before, after)).toBeCloseTo(0.75);
  });

  it('knows nothing without a window: first sample, a reused entry, a counter that went back', () => {
    const after = byEntry([sample(1, 2e9, 1e9)]);
    expect(resourceUtilization(entries, 'a1', new Map(), after)).toBeUndefined();
    expect(resourceUtilization(entries, 'a1', byEntry([sample(1, 1e9, 0, 'other')]), after)).toBeUndefined();
    expect(resourceUtilization(entries, 'a1', byEntry([sample(1, 1e9, 2e9)]), after)).toBeUndefined();
  });

  it('caps at 1 (busy time charged across the window boundary)', () => {
    const u = resourceUtilization(
      entries,
      'a1',
      byEntry([sample(1, 1e9, 0)]),
      byEntry([sample(1, 2e9, 3e9)]),
    );
    expect(u).toBe(1);
  });
});
