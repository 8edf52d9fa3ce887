// isCanonicalBase64 (src/common/base64.ts) against an independent oracle: a string of the base64
// alphabet and padding is canonical exactly when Node's encoder gives it back from the bytes Node's
// (lenient) decoder reads out of it. Seeded random strings, near misses of real encodings, and the
// cases found from outside (a job ran on "ABC" for "QUJDQ").
import { describe, expect, it } from 'vitest';
import { isCanonicalBase64 } from '../../src/common/base64.js';
import { Prng } from '../helpers/prng.js';

const oracle = (s: string) => Buffer.from(s, 'base64').toString('base64') === s;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

describe('isCanonicalBase64', () => {
  it.each([
    ['', true],
    ['QUJD', true],
    ['QUI=', true],
    ['QQ==', true],
    ['QUJDQ', false], // a trailing partial group: Node decodes "ABC" and drops it
    ['QR==', false], // stray bits under the padding
    ['QQ=', false],
    ['QQ', false],
    ['A', false],
    ['QUJD\n', false],
    ['QU-D', false], // the URL-safe alphabet is another spelling
    ['=QUJ', false],
    ['Q===', false],
  ])('%j: %s', (text, expected) => {
    expect(isCanonicalBase64(text)).toBe(expected);
    expect(oracle(text) && /^[A-Za-z0-9+/=]*$/.test(text)).toBe(expected);
  });

  it('agrees with the oracle on random strings and on near misses of real encodings', () => {
    const prng = new Prng(42);
    const pick = () => `${ALPHABET}===`[prng.int(0, ALPHABET.length + 2)]!;
    for (let i = 0; i < 20_000; i++) {
      const random = Array.from({ length: prng.int(0, 12) }, pick).join('');
      expect(isCanonicalBase64(random), random).toBe(oracle(random));
      const bytes = Buffer.from(Array.from({ length: prng.int(0, 9) }, () => prng.int(0, 255)));
      const real = bytes.toString('base64');
      expect(isCanonicalBase64(real), real).toBe(true);
      if (real.length === 0) continue;
      const at = prng.int(0, real.length - 1);
      const nearMiss = real.slice(0, at) + pick() + real.slice(at + 1);
      expect(isCanonicalBase64(nearMiss), nearMiss).toBe(oracle(nearMiss));
    }
  });
});
