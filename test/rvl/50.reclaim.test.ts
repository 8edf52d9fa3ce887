// Reclaim policy: idle slices past the limit, busy allocations above the threshold, from two samples.
import { describe, expect, it } from 'vitest';
import { busyAllocations, idleSlices, type SliceSample } from '../../src/rvl/index.js';

const MS = 1_000_000;
const policy = { idleReclaimMs: 1000, growWhenBusyPercent: 80 };

function sample(entry: number, over: Partial<SliceSample> = {}): SliceSample {
  return {
    adapter: 'a0',
    entry,
    allocation: `al${entry}`,
    sampledAtNs: 0,
    lastActiveNs: 0,
    busyNs: 0,
    bytesMoved: 0,
    jobs: 0,
    ...over,
  };
}

describe('idle slices', () => {
  it('reports slices idle for at least idleReclaimMs, longest first', () => {
    const latest = [
      sample(0, { sampledAtNs: 5000 * MS, lastActiveNs: 4500 * MS }), // 500 ms: kept
      sample(1, { sampledAtNs: 5000 * MS, lastActiveNs: 3000 * MS }), // 2000 ms
      sample(2, { sampledAtNs: 5000 * MS, lastActiveNs: 4000 * MS }), // exactly 1000 ms
    ];
    expect(idleSlices([], latest, policy).map((s) => [s.entry, s.idleMs])).toEqual([
      [1, 2000],
      [2, 1000],
    ]);
  });

  it('counts a never-used slice as idle since the earlier sample that saw it unused', () => {
    const previous = [sample(0, { sampledAtNs: 1000 * MS }), sample(1, { sampledAtNs: 1000 * MS })];
    const latest = [
      sample(0, { sampledAtNs: 2500 * MS }),
      sample(1, { sampledAtNs: 2500 * MS, allocation: 'reused' }),
    ];
    // Entry 1 now belongs to another allocation: its age is unknown, so it is not reclaimed yet.
    expect(idleSlices(previous, latest, policy)).toEqual([
      { adapter: 'a0', entry: 0, allocation: 'al0', idleMs: 1500 },
    ]);
    expect(idleSlices([], latest, policy)).toEqual([]);
  });

  it('a slice whose counters grew between samples is not idle, whatever LAST_ACTIVE_NS says', () => {
    const previous = [sample(0, { sampledAtNs: 1000 * MS, lastActiveNs: 1, jobs: 3 })];
    const latest = [sample(0, { sampledAtNs: 9000 * MS, lastActiveNs: 1, jobs: 4 })];
    expect(idleSlices(previous, latest, policy)).toEqual([]);
  });
});

describe('busy allocations', () => {
  it('reports allocations whose busiest slice was busy more than the threshold of the window', () => {
    const previous = [
      sample(0, { sampledAtNs: 0, busyNs: 0 }),
      sample(1, { sampledAtNs: 0, busyNs: 0, allocation: 'al0' }),
      sample(2, { sampledAtNs: 0, busyNs: 0 }),
    ];
    const latest = [
      sample(0, { sampledAtNs: 1000 * MS, busyNs: 100 * MS }), // 10 %
      sample(1, { sampledAtNs: 1000 * MS, busyNs: 900 * MS, allocation: 'al0' }), // 90 %: al0 is busy
      sample(2, { sampledAtNs: 1000 * MS, busyNs: 800 * MS }), // exactly 80 %: not above
    ];
    expect(busyAllocations(previous, latest, policy)).toEqual([
      { allocation: 'al0', busyPercent: 90, adapter: 'a0', entry: 1 },
    ]);
  });

  it('skips slices without a window: new, re-created (counter went back) or the same sample time', () => {
    const previous = [sample(0, { busyNs: 500 * MS }), sample(1, { sampledAtNs: 10, busyNs: 0 })];
    const latest = [
      sample(0, { sampledAtNs: 1000 * MS, busyNs: 1 }),
      sample(1, { sampledAtNs: 10, busyNs: 5 }),
      sample(2, { sampledAtNs: 1000 * MS, busyNs: 999 * MS }),
    ];
    expect(busyAllocations(previous, latest, policy)).toEqual([]);
  });
});
