// What the client library stores into and reads from a tenant window's queue fields (ra-spec §18.1,
// §18.4), on a window file this test plays the adapter for (no model: every step is deterministic).
// The polled round trip is bounded by cache lines moving between the holder's and the adapter's
// cores, so the client touches the lines the adapter spins on as rarely as the protocol allows:
//   - SQ_HEAD is read only when the ring looks full by the value last read; a full ring still says so;
//   - the descriptor reaches the ring whole, and its bytes are those the driver's encoder writes;
//   - CQ_HEAD is stored on the way to the next SQ_TAIL, or at once when a waiter did not find its
//     completion (the adapter may need the room to post it) or half the ring is reaped unshown.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TenantDescriptor } from '../../src/client/descriptors.js';
import { ClientCode } from '../../src/client/errors.js';
import { TenantWindow } from '../../src/client/window.js';
import { encodeDescriptor } from '../../src/driver/dma.js';
import { Cqe, Desc, Err, Tw, TwState } from '../../src/driver/regs.js';
import { Prng } from '../helpers/prng.js';

const DEPTH = 16;

describe('tenant window client: queue field accesses (ra-spec §18.1, §18.4)', () => {
  let dir: string;
  let w: TenantWindow;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tw-client-'));
    const file = Buffer.alloc(Tw.BYTES);
    file.writeUInt32LE(Tw.MAGIC_VALUE, Tw.MAGIC);
    file.writeUInt32LE(TwState.OPEN, Tw.STATE);
    file.writeUInt32LE(DEPTH, Tw.RING_DEPTH);
    writeFileSync(path.join(dir, 'tw'), file);
    w = TenantWindow.open(path.join(dir, 'tw'), { timeoutMs: 200 });
  });
  afterEach(() => {
    w.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const r = () => w.regs;
  /** the adapter's side: takes everything submitted (SQ_HEAD = SQ_TAIL) */
  const takeAll = () => r().write32(Tw.SQ_HEAD, r().read32(Tw.SQ_TAIL));
  /** the adapter's side: posts a successful CQE for `cookie` at CQ_TAIL */
  const complete = (cookie: number, sqIndex: number) => {
    const tail = r().read32(Tw.CQ_TAIL);
    const at = Tw.CQ + (tail % DEPTH) * Cqe.BYTES;
    r().write32(at + Cqe.COOKIE, cookie);
    r().write32(at + Cqe.STATUS, Err.OK);
    r().write32(at + Cqe.SQ_INDEX, sqIndex);
    r().write32(at + Cqe.OUT_BYTES, 1);
    r().write32(Tw.CQ_TAIL, tail + 1);
  };
  const fill = (value: number): TenantDescriptor[] => [
    { op: 'fill', dst: { port: 3, slice: 7 }, dstOffset: value, bytes: 1, value },
  ];

  it('writes each descriptor (fill, copy, job; chained or not) as the driver encodes it with owner key 0', () => {
    const prng = new Prng(16);
    const ref = () => ({ port: prng.int(0, 0xfff), slice: prng.int(0, 0xffff) });
    const loc = (s: { port: number; slice: number }) => ({ adapter: s.port, slice: s.slice });
    /** the driver's encoding (src/driver/dma.ts), the reference: owner key 0, as ra-spec §18.4 says */
    const reference = (d: TenantDescriptor, cookie: number, chained: boolean): string => {
      const out = new Uint8Array(Desc.BYTES);
      const ownerKey = 0n;
      const driver =
        d.op === 'fill'
          ? { ...d, ownerKey, dst: loc(d.dst) }
          : { ...d, ownerKey, src: loc(d.src), dst: loc(d.dst) };
      encodeDescriptor(new DataView(out.buffer), 0, driver, cookie, chained);
      return Buffer.from(out).toString('hex');
    };
    let tail = 0;
    for (let i = 0; i < 4 * DEPTH; i++) {
      const chain: TenantDescriptor[] = [...Array(prng.int(1, 3)).keys()].map((): TenantDescriptor => {
        const kind = prng.int(0, 2);
        if (kind === 0)
          return {
            op: 'fill',
            dst: ref(),
            dstOffset: prng.int(0, 2 ** 45),
            bytes: prng.int(1, 2 ** 40),
            value: prng.int(0, 255),
          };
        const common = {
          src: ref(),
          srcOffset: prng.int(0, 2 ** 45),
          dst: ref(),
          dstOffset: prng.int(0, 2 ** 31),
          bytes: prng.int(1, 2 ** 33),
        };
        if (kind === 1) return { op: 'copy', ...common };
        const params = prng.chance(0.7)
          ? new Uint8Array(prng.int(0, 16)).map(() => prng.int(0, 255))
          : undefined;
        return {
          op: 'job',
          ctxSlice: prng.int(0, 0xffff),
          ...common,
          ...(params ? { params } : {}),
          inlineKey: prng.chance(0.5),
        };
      });
      // the ring slots hold leftovers of earlier descriptors: all 64 bytes must be overwritten
      r().bytes.fill(0xee, Tw.SQ, Tw.SQ + DEPTH * Desc.BYTES);
      const cookie = w.post(chain);
      for (const [k, d] of chain.entries()) {
        const slot = Tw.SQ + ((tail + k) % DEPTH) * Desc.BYTES;
        expect(Buffer.from(r().bytes.subarray(slot, slot + Desc.BYTES)).toString('hex')).toBe(
          reference(d, cookie, k < chain.length - 1),
        );
      }
      tail += chain.length;
      expect(r().read32(Tw.SQ_TAIL)).toBe(tail);
      takeAll();
      complete(cookie, tail - 1);
      w.waitSync(cookie);
    }
  });

  it('refuses a fill value, port or slice its fields cannot hold, before anything reaches the ring', () => {
    const tailBefore = r().read32(Tw.SQ_TAIL);
    const ring = Buffer.from(r().buffer, Tw.SQ, Desc.BYTES * DEPTH); // a view: it sees later writes
    const before = Buffer.from(ring);
    const dst = { port: 3, slice: 7 };
    const bad: [TenantDescriptor, RegExp][] = [
      [{ op: 'fill', dst, dstOffset: 0, bytes: 1, value: 256 }, /value must be a byte/],
      [{ op: 'fill', dst, dstOffset: 0, bytes: 1, value: -1 }, /value must be a byte/],
      [{ op: 'fill', dst: { port: 0x1000, slice: 7 }, dstOffset: 0, bytes: 1, value: 1 }, /dst.port/],
      [{ op: 'fill', dst: { port: 3, slice: 0x10000 }, dstOffset: 0, bytes: 1, value: 1 }, /dst.slice/],
      [{ op: 'copy', src: { port: 3, slice: -1 }, srcOffset: 0, dst, dstOffset: 0, bytes: 1 }, /src.slice/],
    ];
    for (const [d, message] of bad) {
      expect(() => w.post([d])).toThrow(message);
      expect(() => w.post([d])).toThrow(expect.objectContaining({ code: ClientCode.GRANT_INVALID }));
    }
    expect(r().read32(Tw.SQ_TAIL)).toBe(tailBefore);
    expect(ring.equals(before)).toBe(true);
  });

  it('reads SQ_HEAD only when the ring looks full, and a full ring still refuses the chain', () => {
    // the adapter takes nothing: DEPTH chains fit, the next is refused and nothing of it is written
    for (let i = 0; i < DEPTH; i++) w.post(fill(i));
    const slot0 = Buffer.from(r().bytes.subarray(Tw.SQ, Tw.SQ + Desc.BYTES));
    expect(() => w.post(fill(99))).toThrow(/submission ring full/);
    expect(r().read32(Tw.SQ_TAIL)).toBe(DEPTH);
    expect(Buffer.from(r().bytes.subarray(Tw.SQ, Tw.SQ + Desc.BYTES)).equals(slot0)).toBe(true);
    // once the adapter took them, the same post goes in
    takeAll();
    w.post(fill(99));
    expect(r().read32(Tw.SQ_TAIL)).toBe(DEPTH + 1);
    // SQ_HEAD below the last value read (a scribble there) is not looked at while room is known
    r().write32(Tw.SQ_HEAD, 0);
    expect(() => w.post(fill(100))).not.toThrow();
  });

  it('stores CQ_HEAD with the next post, at once for a waiter that did not find its completion', () => {
    const a = w.post(fill(1));
    takeAll();
    complete(a, 0);
    w.waitSync(a);
    // found: CQ_HEAD stays where it was until the next submission takes the holder's line anyway
    expect(r().read32(Tw.CQ_HEAD)).toBe(0);
    const b = w.post(fill(2));
    expect(r().read32(Tw.CQ_HEAD)).toBe(1);
    const c = w.post(fill(3));
    takeAll();
    complete(b, 1);
    // waiting for c finds only b: CQ_HEAD is shown (the adapter may need the room), then TIMEOUT
    expect(() => w.waitSync(c)).toThrow(/no completion/);
    expect(r().read32(Tw.CQ_HEAD)).toBe(2);
    complete(c, 2);
    expect(w.waitSync(c).cookie).toBe(c);
    expect(w.waitSync(b).cookie).toBe(b); // reaped while waiting for c: kept for its own waiter
  });

  it('shows CQ_HEAD once half the ring is reaped but not shown', () => {
    const cookies = [];
    for (let i = 0; i < DEPTH / 2; i++) cookies.push(w.post(fill(i)));
    takeAll();
    for (const [i, cookie] of cookies.entries()) complete(cookie, i);
    expect(r().read32(Tw.CQ_HEAD)).toBe(0);
    w.waitSync(cookies[0]!); // reaps all DEPTH / 2 at once, its own among them
    expect(r().read32(Tw.CQ_HEAD)).toBe(DEPTH / 2);
  });
});
