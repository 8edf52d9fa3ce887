// Malformed requests are refused before any search, by every strategy, with INVALID_REQUEST.
import { describe, expect, it } from 'vitest';
import { buildAvailability, RvlError, strategies } from '../../src/rvl/index.js';
import { adapter, pool } from './fixtures.js';

const av = buildAvailability(pool([adapter('a0')]));
const one = (resource: unknown, policy?: unknown) => ({ resources: [resource], policy });

const invalid: [string, unknown][] = [
  ['negative bytes', one({ kind: 'memory', bytes: -1 })],
  ['zero bytes', one({ kind: 'memory', bytes: 0 })],
  ['NaN bytes', one({ kind: 'memory', bytes: Number.NaN })],
  ['2^63 bytes', one({ kind: 'memory', bytes: 2 ** 63 })],
  ['bigint bytes', one({ kind: 'memory', bytes: 2n ** 63n })],
  ['fractional units', one({ kind: 'compute', units: 1.5 })],
  ['infinite units', one({ kind: 'compute', units: Number.POSITIVE_INFINITY })],
  ['an unknown kind', one({ kind: 'gpu', units: 1 })],
  ['no kind', one({ bytes: 1 })],
  ['an accelerator without function', one({ kind: 'accelerator' })],
  ['zero contexts', one({ kind: 'accelerator', function: 'sha256', contexts: 0 })],
  ['logic without bitstream', one({ kind: 'logic', bitstream: '' })],
  ['no resources', { resources: [] }],
  ['resources not an array', { resources: { kind: 'memory', bytes: 1 } }],
  ['not an object', 'memory please'],
  ['null', null],
  ['maxAdapters 0', one({ kind: 'memory', bytes: 1 }, { maxAdapters: 0 })],
  ['allowSplit not a boolean', one({ kind: 'memory', bytes: 1 }, { allowSplit: 'yes' })],
  ['sameServer not a string', one({ kind: 'memory', bytes: 1 }, { sameServer: 7 })],
  ['adaptersInUse not a list', one({ kind: 'memory', bytes: 1 }, { adaptersInUse: 'a0' })],
  // The request language (docs/grm.md): its shapes and limits.
  ['an empty selector', one({ kind: 'memory', bytes: 1, selector: '' })],
  [
    'a selector over 1024 characters',
    one({ kind: 'memory', bytes: 1, selector: `${'true && '.repeat(200)}true` }),
  ],
  ['a selector that is not a string', one({ kind: 'memory', bytes: 1, selector: { zone: 'z1' } })],
  ['whole adapters by count 0', one({ kind: 'adapter', count: 0 })],
  ['whole adapters by count 65', one({ kind: 'adapter', count: 65 })],
  ['an unknown allocationMode', one({ kind: 'adapter', allocationMode: 'some' })],
  ['firstAvailable without alternatives', one({ kind: 'firstAvailable', alternatives: [] })],
  [
    'nine alternatives',
    one({
      kind: 'firstAvailable',
      alternatives: Array.from({ length: 9 }, () => ({ kind: 'compute', units: 1 })),
    }),
  ],
  [
    'a firstAvailable inside a firstAvailable',
    one({
      kind: 'firstAvailable',
      alternatives: [{ kind: 'firstAvailable', alternatives: [{ kind: 'compute', units: 1 }] }],
    }),
  ],
  [
    'a constraint on an unknown attribute',
    { resources: [{ kind: 'memory', bytes: 1 }], constraints: [{ matchAttribute: 'rack' }] },
  ],
  [
    'a constraint naming a resource the request lacks',
    {
      resources: [{ kind: 'memory', bytes: 1 }],
      constraints: [{ matchAttribute: 'zone', resources: [0, 1] }],
    },
  ],
  [
    'a constraint naming one resource twice',
    {
      resources: [{ kind: 'memory', bytes: 1 }],
      constraints: [{ matchAttribute: 'zone', resources: [0, 0] }],
    },
  ],
];

describe('request validation', () => {
  for (const strategy of strategies) {
    for (const [what, request] of invalid) {
      it(`${strategy.name}: refuses ${what}`, () => {
        let thrown: unknown;
        try {
          strategy.plan(av, request);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(RvlError);
        expect(thrown).toMatchObject({ name: 'RvlError', code: 'INVALID_REQUEST' });
        expect((thrown as RvlError).message).toMatch(/must|resources|constraints/);
      });
    }
  }

  it('names the field that was wrong', () => {
    expect(() =>
      strategies[0]!.plan(av, {
        resources: [
          { kind: 'memory', bytes: 1 },
          { kind: 'memory', bytes: -5 },
        ],
      }),
    ).toThrow(/resources\[1\]\.bytes must be a positive integer/);
  });
});
