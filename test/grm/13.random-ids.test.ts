// Allocation ids and owner keys come from a pool of random bytes (src/grm/random-ids.ts): every draw is
// fresh bytes (no repeats across pool refills), in the formats the store and the adapters check.
import { describe, expect, it } from 'vitest';
import { isOwnerKeyHex, ownerKeyOf } from '../../src/common/owner-key.js';
import { newOwnerKey, randomHex } from '../../src/grm/random-ids.js';

describe('random ids and owner keys from the pool', () => {
  it('ids are 2n hex digits, none repeated across many pool refills', () => {
    const ids = Array.from({ length: 5000 }, () => randomHex(6)); // 30,000 bytes: 7 refills of 4 KiB
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('owner keys are 16 hex digits, odd (never 0), none repeated', () => {
    const keys = Array.from({ length: 3000 }, () => newOwnerKey());
    for (const k of keys) {
      expect(isOwnerKeyHex(k)).toBe(true);
      expect(ownerKeyOf(k) & 1n).toBe(1n);
    }
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('hex digits are spread evenly (bytes are not reused or zero)', () => {
    const counts = new Map<string, number>();
    const text = Array.from({ length: 4000 }, () => randomHex(8)).join(''); // 64,000 digits
    for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(16);
    // 4,000 expected per digit; sd about 61: a band of +-10% is more than 6 sd wide.
    for (const n of counts.values()) expect(Math.abs(n - 4000)).toBeLessThan(400);
  });

  it('refuses a size it cannot draw', () => {
    expect(() => randomHex(0)).toThrow(/bytes must be 1\.\.4096/);
    expect(() => randomHex(5000)).toThrow(/bytes must be 1\.\.4096/);
  });
});
