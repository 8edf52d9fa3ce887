// Server numbers (src/rvl/server-numbers.ts) against a Map: names stored in their rows (up to 14 code
// units) and longer ones, names that differ in one unit or only in length, growth past many rehashes,
// and names never added. The planner finds a sameServer request's lists by this number.
import { describe, expect, it } from 'vitest';
import { ServerNumbers } from '../../src/rvl/server-numbers.js';
import { Prng } from '../helpers/prng.js';

describe('server numbers', () => {
  it('number names in order of addition, as a Map does, and know no other name', () => {
    const rng = new Prng(95);
    const table = new ServerNumbers();
    const model = new Map<string, number>();
    const alphabet = ['s', '0', '1', 'a', 'é', '-', '漢'];
    const name = () => {
      const length = rng.chance(0.2) ? rng.int(15, 40) : rng.int(0, 14);
      let out = '';
      for (let i = 0; i < length; i++) out += alphabet[rng.int(0, alphabet.length - 1)];
      return out;
    };
    for (let step = 0; step < 6000; step++) {
      const n = name();
      if (rng.chance(0.5)) {
        const want = model.get(n) ?? model.size;
        model.set(n, want);
        expect(table.add(n)).toBe(want);
      }
      expect(table.numberOf(n)).toBe(model.get(n) ?? -1);
      // One unit more, one unit less, the last unit changed: a different name unless the model has it.
      for (const other of [`${n}0`, n.slice(0, -1), `${n.slice(0, -1)}x`])
        expect(table.numberOf(other)).toBe(model.get(other) ?? -1);
    }
    expect(table.size).toBe(model.size);
    for (const [n, number] of model) {
      expect(table.numberOf(n)).toBe(number);
      expect(table.nameOf(number)).toBe(n);
    }
  });

  it('tell apart names of the same length that differ past the first units, and the empty name', () => {
    const table = new ServerNumbers();
    expect(table.numberOf('')).toBe(-1);
    const names = Array.from({ length: 3000 }, (_, i) => `s${String(i).padStart(5, '0')}`);
    for (const [i, n] of names.entries()) expect(table.add(n)).toBe(i);
    expect(table.add('')).toBe(3000);
    for (const [i, n] of names.entries()) expect(table.numberOf(n)).toBe(i);
    expect(table.numberOf('s03000')).toBe(-1);
    expect(table.numberOf('')).toBe(3000);
  });
});
