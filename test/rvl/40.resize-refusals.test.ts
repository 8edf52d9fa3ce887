// Resize and migration requests that make no sense are refused with a typed error, not planned.
import { describe, expect, it } from 'vitest';
import { buildAvailability, planGrow, planMigration, planShrink } from '../../src/rvl/index.js';
import { adapter, contexts, GiB, loaded, memory, pool } from './fixtures.js';

const slice = memory('a0', 0, 0, 2 * GiB);
const ctx = contexts('a0', 1, 0, 0, 1);
const av = buildAvailability(pool([adapter('a0', { slots: [loaded(0, 'sha256', 1)] })], [slice, ctx]));
const code = (code: string) => expect.objectContaining({ name: 'RvlError', code });

describe('resize refusals', () => {
  it('context slices do not resize', () => {
    expect(() => planGrow(av, ctx, 2)).toThrow(code('INVALID_REQUEST'));
    expect(() => planShrink(av, ctx, 1)).toThrow(code('INVALID_REQUEST'));
    expect(() => planMigration(av, ctx, ['a0'])).toThrow(code('INVALID_REQUEST'));
  });

  it('grow must grow and shrink must not grow', () => {
    expect(() => planGrow(av, slice, GiB)).toThrow(/use planShrink/);
    expect(() => planShrink(av, slice, 3 * GiB)).toThrow(/use planGrow/);
  });

  it('refuses NaN, negative and 2^63 lengths', () => {
    for (const length of [Number.NaN, -1, 0, 2 ** 63]) {
      expect(() => planGrow(av, slice, length)).toThrow(code('INVALID_REQUEST'));
      expect(() => planShrink(av, slice, length)).toThrow(code('INVALID_REQUEST'));
    }
  });

  it('names unknown adapters', () => {
    expect(() => planGrow(av, { ...slice, adapter: 'zz' }, 4 * GiB)).toThrow(code('UNKNOWN_ADAPTER'));
    expect(() => planMigration(av, slice, ['a0', 'zz'])).toThrow(/zz/);
    expect(() => planMigration(av, slice, [])).toThrow(code('INVALID_REQUEST'));
  });

  it('a slice on a tainted adapter grows by migration, never in place', () => {
    const inv = pool([adapter('a0', { health: 'degraded' }), adapter('a1')], [slice]);
    const result = planGrow(buildAvailability(inv), slice, 4 * GiB);
    expect(result).toMatchObject({ ok: true, plan: { kind: 'migrate', to: { adapter: 'a1' } } });
  });

  it('a failed grow says which slice could not grow', () => {
    const inv = pool([adapter('a0')], [slice, memory('a0', 1, 2 * GiB, 6 * GiB)]);
    const result = planGrow(buildAvailability(inv), slice, 4 * GiB);
    expect(result).toMatchObject({
      ok: false,
      reason: 'RESOURCE_UNAVAILABLE',
      details: { why: 'NOT_CONTIGUOUS' },
    });
    if (!result.ok) expect(result.details.message).toMatch(/^growing slice a0#0: /);
  });
});
