// Pure parts of the driver: splitting a copy by CAP_MAX_TRANSFER (ra-spec §3) and the heartbeat age
// that marks a frozen adapter hung (§17.7), on a fake clock.
import { describe, expect, it } from 'vitest';
import { COPY_CHAIN_MAX_BYTES, chainsOf, splitCopy } from '../../src/driver/copy.js';
import type { CopyDescriptor } from '../../src/driver/dma.js';
import { HEARTBEAT_HUNG_MS, HeartbeatMonitor } from '../../src/driver/heartbeat.js';

const copy = (bytes: number): CopyDescriptor => ({
  op: 'copy',
  ownerKey: 1n,
  src: { adapter: 0, slice: 1 },
  srcOffset: 100,
  dst: { adapter: 1, slice: 2 },
  dstOffset: 7,
  bytes,
});

describe('splitCopy', () => {
  it('covers the copy exactly, in order, with pieces of at most the limit', () => {
    for (const [bytes, limit] of [
      [1, 4096],
      [4096, 4096],
      [4097, 4096],
      [3 * 4096, 4096],
      [10_000_019, 65_536],
    ] as const) {
      const pieces = splitCopy(copy(bytes), limit);
      expect(pieces.length).toBe(Math.ceil(bytes / limit));
      let done = 0;
      for (const p of pieces) {
        expect(p.bytes).toBeGreaterThan(0);
        expect(p.bytes).toBeLessThanOrEqual(limit);
        expect(p.srcOffset).toBe(100 + done);
        expect(p.dstOffset).toBe(7 + done);
        done += p.bytes;
      }
      expect(done).toBe(bytes);
    }
  });

  it('refuses a zero limit or length with INVALID_ARGUMENT', () => {
    expect(() => splitCopy(copy(10), 0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => splitCopy(copy(0), 4096)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('chainsOf', () => {
  it('keeps the pieces in order, each chain within the piece count and the byte limit', () => {
    for (const [bytes, limit, chainLength, maxBytes] of [
      [10_000_019, 65_536, 256, COPY_CHAIN_MAX_BYTES],
      [10_000_019, 65_536, 7, COPY_CHAIN_MAX_BYTES],
      [10_000_019, 65_536, 256, 1_000_000],
      [1 << 30, COPY_CHAIN_MAX_BYTES, 256, COPY_CHAIN_MAX_BYTES],
    ] as const) {
      const pieces = splitCopy(copy(bytes), limit);
      const chains = chainsOf(pieces, chainLength, maxBytes);
      expect(chains.flat()).toEqual(pieces);
      for (const chain of chains) {
        expect(chain.length).toBeGreaterThan(0);
        expect(chain.length).toBeLessThanOrEqual(chainLength);
        expect(chain.reduce((n, p) => n + p.bytes, 0)).toBeLessThanOrEqual(maxBytes);
      }
      // a chain ends only where the next piece would not fit
      for (let i = 0; i + 1 < chains.length; i++) {
        const full = chains[i]!.length === chainLength;
        const over = chains[i]!.reduce((n, p) => n + p.bytes, 0) + chains[i + 1]![0]!.bytes > maxBytes;
        expect(full || over).toBe(true);
      }
    }
  });

  it('a 1 GiB copy is waited for in 64 MiB chains, not as one (issue 11: a slow copy is no hung one)', () => {
    const chains = chainsOf(splitCopy(copy(1 << 30), COPY_CHAIN_MAX_BYTES), 256);
    expect(chains.map((c) => c.reduce((n, p) => n + p.bytes, 0))).toEqual(Array(16).fill(64 * 1024 * 1024));
  });
});

describe('HeartbeatMonitor', () => {
  it('ages while the heartbeat stands still and resets when it moves', () => {
    let beat = 1n;
    let now = 1000;
    const m = new HeartbeatMonitor(
      () => beat,
      () => now,
    );
    now += HEARTBEAT_HUNG_MS;
    expect(m.hung).toBe(false); // exactly the limit is not yet hung
    now += 1;
    expect(m.hung).toBe(true);
    beat = 2n; // a late read that sees it moved: alive, however long since the last sample
    expect(m.ageMs()).toBe(0);
    expect(m.hung).toBe(false);
  });
});
