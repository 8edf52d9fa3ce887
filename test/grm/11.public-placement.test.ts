// How a planned slice is reported (src/grm/context.ts toPublicPlacement): its length in the slice
// table (ra-spec §5), taken from the plan or from the caller's lengthOf. The length is a function so
// that `placements.map(toPublicPlacement)` cannot pass the element's index as the length: it once
// made an added context slice report `contexts: 0` (the first element's index).
import { describe, expect, it } from 'vitest';
import { toPublicPlacement } from '../../src/grm/context.js';
import type { PlannedSlice } from '../../src/rvl/plan.js';

const memory: PlannedSlice = {
  kind: 'memory',
  adapter: 'ra0',
  entry: 3,
  base: 1 << 20,
  length: 8192,
  resourceIndex: 0,
  bytes: 5000,
};
const contexts: PlannedSlice = {
  kind: 'context',
  adapter: 'ra1',
  entry: 5,
  base: 2,
  length: 4,
  slot: 1,
  resourceIndex: 1,
  loadBitstream: { bitstream: 'crc32c-2ctx' },
};

describe('toPublicPlacement', () => {
  it('reports the planned length of the slice table, not the bytes the request carries', () => {
    expect(toPublicPlacement(memory)).toEqual({ adapter: 'ra0', slice: 3, offset: 1 << 20, bytes: 8192 });
    expect(toPublicPlacement(contexts)).toEqual({
      adapter: 'ra1',
      slice: 5,
      slot: 1,
      context: 2,
      contexts: 4,
    });
  });

  it('reports the length the caller programs (a bitstream with fewer contexts than planned)', () => {
    expect(toPublicPlacement(contexts, () => 2)).toMatchObject({ contexts: 2 });
    expect([memory, contexts].map((p) => toPublicPlacement(p, (q) => q.length - 1))).toEqual([
      expect.objectContaining({ bytes: 8191 }),
      expect.objectContaining({ contexts: 3 }),
    ]);
  });

  it('refuses to be passed to Array.map directly (the index is no length)', () => {
    const planned = [contexts, contexts];
    // The type refuses it (npm run typecheck fails if this line ever compiles) ...
    // @ts-expect-error map passes (element, index, array): a number is no lengthOf function
    const misuse = () => planned.map(toPublicPlacement);
    // ... and an untyped caller gets an error instead of `contexts: 0`.
    expect(misuse).toThrow(TypeError);
    expect(misuse).toThrow(/placements\.map\(\(p\) => toPublicPlacement\(p\)\)/);
    expect(planned.map((p) => toPublicPlacement(p))).toEqual([
      expect.objectContaining({ contexts: 4 }),
      expect.objectContaining({ contexts: 4 }),
    ]);
  });
});
