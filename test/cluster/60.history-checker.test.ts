// The history checker (test/helpers/history.ts) on hand-made histories: a good one passes, and each kind
// of bad one (double allocation, lost acknowledgement, leaked capacity, a release that did not happen)
// is caught — so the fault tests that rely on it can fail.
import { describe, expect, it } from 'vitest';
import {
  type AllocateOp,
  checkHistory,
  type FinalState,
  type HistoryOp,
  type MemoryPlacement,
  type RegisterSlice,
  type ReleaseOp,
} from '../helpers/history.js';

const MiB = 1024 * 1024;
const place = (slice: number, offsetMiB: number, adapter = 's1/ra0'): MemoryPlacement => ({
  adapter,
  slice,
  offset: offsetMiB * MiB,
  bytes: MiB,
});
const alloc = (
  id: string,
  at: number,
  p: MemoryPlacement[],
  outcome: AllocateOp['outcome'] = 'ok',
): AllocateOp => ({
  kind: 'allocate',
  client: 'c',
  invokedMs: at,
  returnedMs: at + 1,
  outcome,
  ...(outcome === 'ok' ? { id, placements: p } : {}),
});
const free = (id: string, at: number, outcome: ReleaseOp['outcome'] = 'ok'): ReleaseOp => ({
  kind: 'release',
  client: 'c',
  id,
  invokedMs: at,
  returnedMs: at + 1,
  outcome,
});
const reg = (p: MemoryPlacement, ownerKey: string): RegisterSlice => ({
  adapter: p.adapter,
  entry: p.slice,
  kind: 'memory',
  base: p.offset,
  length: p.bytes,
  ownerKey,
});
const final = (listed: [string, MemoryPlacement[]][], registers: RegisterSlice[]): FinalState => ({
  listed: new Map(listed),
  registers,
});

describe('history checker', () => {
  it('accepts a history the pool allows: reuse after a release, an unknown outcome either way', () => {
    const ops: HistoryOp[] = [
      alloc('a', 0, [place(0, 0)]),
      free('a', 10),
      alloc('b', 20, [place(0, 0)]), // same slice, after a's release returned
      alloc('c', 30, [place(1, 1)]),
      free('c', 40, 'unknown'), // the replica died: it may or may not have happened
      alloc('?', 50, [], 'unknown'),
    ];
    expect(checkHistory(ops, final([['b', [place(0, 0)]]], [reg(place(0, 0), 'k-b')]))).toEqual([]);
    expect(
      checkHistory(
        ops,
        final(
          [
            ['b', [place(0, 0)]],
            ['c', [place(1, 1)]],
          ],
          [reg(place(0, 0), 'k-b'), reg(place(1, 1), 'k-c')],
        ),
      ),
    ).toEqual([]);
  });

  it('catches a double allocation: two live allocations with overlapping slices', () => {
    const ops = [alloc('a', 0, [place(0, 0)]), alloc('b', 5, [place(1, 0)])];
    const violations = checkHistory(
      ops,
      final(
        [
          ['a', [place(0, 0)]],
          ['b', [place(1, 0)]],
        ],
        [reg(place(0, 0), 'k-a'), reg(place(1, 0), 'k-b')],
      ),
    );
    expect(violations.some((v) => v.startsWith('double allocation: a and b'))).toBe(true);
  });

  it('catches a slice granted to b while a, not yet released, still held it', () => {
    const ops = [alloc('a', 0, [place(0, 0)]), alloc('b', 5, [place(0, 0)]), free('a', 10)];
    const violations = checkHistory(ops, final([['b', [place(0, 0)]]], [reg(place(0, 0), 'k-b')]));
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/^double allocation: a and b/);
  });

  it('catches a lost acknowledgement: gone from the API, or missing from the registers', () => {
    const ops = [alloc('a', 0, [place(0, 0)]), alloc('b', 1, [place(1, 1)])];
    const gone = checkHistory(ops, final([['b', [place(1, 1)]]], [reg(place(1, 1), 'k-b')]));
    expect(gone).toEqual(['lost acknowledgement: a was answered 201 and is gone']);
    const unprogrammed = checkHistory(
      ops,
      final(
        [
          ['a', [place(0, 0)]],
          ['b', [place(1, 1)]],
        ],
        [reg(place(1, 1), 'k-b')],
      ),
    );
    expect(unprogrammed).toEqual([
      `lost acknowledgement: a's slice s1/ra0#0 [0, +${MiB}) is not in the registers`,
    ]);
  });

  it('catches capacity a release or a refusal did not free, and a release that did not happen', () => {
    const ops = [alloc('a', 0, [place(0, 0)]), free('a', 10), alloc('x', 20, [], 'refused')];
    expect(checkHistory(ops, final([], [reg(place(0, 0), 'k-a')]))).toEqual([
      `capacity not freed: s1/ra0#0 (memory [0, +${MiB}), key k-a) belongs to no live allocation`,
    ]);
    expect(checkHistory(ops, final([['a', [place(0, 0)]]], [reg(place(0, 0), 'k-a')]))).toContain(
      'release lost: a was released (204) but is still listed',
    );
  });

  it('catches two live allocations sharing one owner key, and a phantom allocation', () => {
    const ops = [alloc('a', 0, [place(0, 0)]), alloc('b', 1, [place(1, 1)])];
    const shared = checkHistory(
      ops,
      final(
        [
          ['a', [place(0, 0)]],
          ['b', [place(1, 1)]],
        ],
        [reg(place(0, 0), 'k'), reg(place(1, 1), 'k')],
      ),
    );
    expect(shared).toEqual(['double allocation: b and a share owner key k']);
    const phantom = checkHistory(
      [alloc('a', 0, [place(0, 0)])],
      final(
        [
          ['a', [place(0, 0)]],
          ['z', [place(1, 1)]],
        ],
        [reg(place(0, 0), 'k-a'), reg(place(1, 1), 'k-z')],
      ),
    );
    expect(phantom).toContain('phantom allocation: z is listed but no client was answered 201 for it');
  });
});
