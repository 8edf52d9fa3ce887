// The selector language (src/rvl/selector.ts, docs/grm.md "Selectors"): what a selector means, checked
// against the same condition written directly in TypeScript over seeded random adapters; and every
// refusal, with the character where the mistake is, before anything is planned.
import { describe, expect, it } from 'vitest';
import { buildAvailability, RvlError, strategies } from '../../src/rvl/index.js';
import {
  compileSelector,
  MAX_SELECTOR_DEPTH,
  MAX_SELECTOR_LENGTH,
  MAX_SELECTOR_NODES,
  SelectorError,
} from '../../src/rvl/selector.js';
import { Prng } from '../helpers/prng.js';
import { adapter, GiB, memory, pool } from './fixtures.js';

const FUNCTIONS = ['aes-256-gcm', 'sha256', 'crc32c', 'pipeline'];

/** A seeded pool with every attribute varied, and some memory taken. */
function randomPool(seed: number) {
  const rng = new Prng(seed);
  const adapters = Array.from({ length: 40 }, (_, i) =>
    adapter(`a${String(i).padStart(2, '0')}`, {
      server: `s${rng.int(1, 5)}`,
      zone: `z${rng.int(1, 3)}`,
      model: rng.chance(0.5) ? 'ra-0x1' : 'ra-0x2',
      firmware: rng.chance(0.5) ? '1.0' : '1.2',
      health: rng.chance(0.2) ? 'degraded' : 'healthy',
      computeUnits: rng.int(1, 32),
      functionsSupported: FUNCTIONS.filter(() => rng.chance(0.6)),
    }),
  );
  const slices = adapters.flatMap((a, i) =>
    rng.chance(0.5) ? [memory(a.id, 0, 0, rng.int(1, 7) * GiB, `t${i}`)] : [],
  );
  return buildAvailability(pool(adapters, slices)).adapters;
}

/** Each selector beside the same condition written by hand. */
type Adapter = ReturnType<typeof randomPool>[number];
const free = (a: Adapter) => a.freeMemory.reduce((s, e) => s + e.length, 0);
const pairs: [string, (a: Adapter) => boolean][] = [
  ['zone == "z1"', (a) => a.zone === 'z1'],
  ['zone != "z1" && model == "ra-0x2"', (a) => a.zone !== 'z1' && a.model === 'ra-0x2'],
  [
    'server in ["s1", "s3"] || firmware == "1.2"',
    (a) => ['s1', 's3'].includes(a.server) || a.firmware === '1.2',
  ],
  ['!(health == "degraded")', (a) => a.health !== 'degraded'],
  [
    '"sha256" in functions && !("crc32c" in functions)',
    (a) => a.functionsSupported.includes('sha256') && !a.functionsSupported.includes('crc32c'),
  ],
  ['freeMemoryBytes >= 4294967296', (a) => free(a) >= 4 * GiB],
  [
    'largestFreeMemoryBytes < 3221225472 || computeUnits > 20',
    (a) => Math.max(0, ...a.freeMemory.map((e) => e.length)) < 3 * GiB || a.computeUnits > 20,
  ],
  [
    'freeComputeUnits <= 8 && memoryBytes == 8589934592',
    (a) => a.freeCompute.reduce((s, e) => s + e.length, 0) <= 8 && a.memoryBytes === 8 * GiB,
  ],
  ['id.startsWith("a1") || id.endsWith("7")', (a) => a.id.startsWith('a1') || a.id.endsWith('7')],
  [
    'model.contains("0x2") && computeUnits in [1, 2, 3, 30]',
    (a) => a.model!.includes('0x2') && [1, 2, 3, 30].includes(a.computeUnits),
  ],
  ["true && (false || zone == 'z3')", (a) => a.zone === 'z3'],
  ['freeSliceEntries == 256 && emptySlots == 4 && slots == 4', (a) => a.freeEntries.length === 256],
];

describe('selectors mean what the same condition in TypeScript means', () => {
  const adapters = [1, 2, 3].flatMap(randomPool);
  for (const [source, direct] of pairs) {
    it(source, () => {
      const selector = compileSelector(source);
      const chosen = adapters.filter(selector).map((a) => a.id);
      expect(chosen).toEqual(adapters.filter(direct).map((a) => a.id));
      // Not vacuous: the condition keeps some adapters and leaves out others.
      expect(chosen.length).toBeGreaterThan(0);
      expect(chosen.length).toBeLessThan(adapters.length);
    });
  }
});

/** The source, and the character a refusal must point at. */
const refused: [string, number, RegExp][] = [
  ['zone == ', 8, /expected an attribute, a value/],
  ['zon == "z1"', 0, /unknown attribute 'zon' \(attributes: id, server, zone/],
  ['zone == 3', 8, /compares values of one type: expected a string, found a number/],
  ['freeMemoryBytes > "1G"', 18, /compares numbers: expected a number, found a string/],
  ['zone == "z1" && memoryBytes', 16, /&& joins conditions: expected true\/false, found a number/],
  ['memoryBytes', 0, /must be true or false/],
  ['zone == "z1', 8, /string not closed/],
  ['zone == "z1" & server == "s1"', 13, /unexpected character '&'/],
  ['(zone == "z1"', 13, /expected '\)' to close the '\(' at character 0/],
  ['zone in ["a", 1]', 14, /a list holds values of one type/],
  ['3 in functions', 0, /'in' over functions looks for a function name/],
  ['functions == "x"', 0, /for a list use 'in'/],
  ['zone == "z1" zone', 13, /expected && or \|\| or the end/],
  ['memoryBytes > 99999999999999999999', 14, /beyond 2\^53/],
  ['zone.startsWith(1)', 16, /takes one string/],
  ['zone.size()', 5, /expected one of startsWith, endsWith, contains/],
];

describe('refusals name the character at fault', () => {
  for (const [source, position, problem] of refused) {
    it(source, () => {
      let thrown: unknown;
      try {
        compileSelector(source);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(SelectorError);
      expect((thrown as SelectorError).problem).toMatch(problem);
      expect((thrown as SelectorError).position).toBe(position);
    });
  }

  it('bounds the cost: length, nodes and nesting', () => {
    expect(() => compileSelector(`1 in [${'1,'.repeat(300)}1]`)).toThrow(
      new RegExp(`more than ${MAX_SELECTOR_NODES} nodes`),
    );
    expect(() =>
      compileSelector(`${'('.repeat(MAX_SELECTOR_DEPTH + 1)}true${')'.repeat(MAX_SELECTOR_DEPTH + 1)}`),
    ).toThrow(/nested deeper/);
    expect(() => compileSelector(`${'!'.repeat(100_000)}true`)).toThrow(/longer than/);
    expect(MAX_SELECTOR_LENGTH).toBe(1024);
  });

  it('a planner refuses a bad selector with INVALID_REQUEST naming the field and position', () => {
    const av = buildAvailability(pool([adapter('a0')]));
    for (const strategy of strategies) {
      let thrown: unknown;
      try {
        strategy.plan(av, {
          resources: [
            { kind: 'memory', bytes: 1 },
            {
              kind: 'firstAvailable',
              alternatives: [{ kind: 'compute', units: 1, selector: 'zone = "z1"' }],
            },
          ],
        });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(RvlError);
      expect(thrown).toMatchObject({
        code: 'INVALID_REQUEST',
        details: { field: 'resources[1].alternatives[0].selector', position: 5 },
      });
      expect((thrown as Error).message).toMatch(/at character 5: unexpected character '='/);
    }
  });
});
