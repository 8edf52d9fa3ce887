// A tenant window's queue fields (ra-spec §18.1): what the holder writes (SQ_TAIL, CQ_HEAD,
// IRQ_ENABLE, POLL_US) and what the adapter writes (SQ_HEAD, CQ_TAIL, AWAKE) lie on two cache lines
// of their own. On one shared line (the layout before: §7's QCB offsets at 0x40) every store of
// either side took the line away from the other core, several times per polled round trip. The
// offsets come from native/include/ra_regs.h, which the model compiles (tenant.c asserts the same
// at compile time) and src/driver/regs.ts is generated from; here they are checked as the client
// sees them, and on a running model: the adapter's fields move where the header says, and the
// adapter stores nothing into the holder's line.
import { describe, expect, it } from 'vitest';
import { TenantWindow } from '../../src/client/window.js';
import { Desc, Ring, Tw } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { TenantWindows } from '../../src/driver/tenants.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';

const line = (offset: number) => Math.floor(offset / Tw.LINE_BYTES);
const holderFields = {
  SQ_TAIL: Tw.SQ_TAIL,
  CQ_HEAD: Tw.CQ_HEAD,
  IRQ_ENABLE: Tw.IRQ_ENABLE,
  POLL_US: Tw.POLL_US,
};
const adapterFields = { SQ_HEAD: Tw.SQ_HEAD, CQ_TAIL: Tw.CQ_TAIL, AWAKE: Tw.AWAKE };

describe('tenant window layout (ra-spec §18.1)', () => {
  it('puts the holder-written and the adapter-written queue fields on two cache lines of their own', () => {
    expect(Tw.LINE_BYTES).toBe(64);
    const holderLines = new Set(Object.values(holderFields).map(line));
    const adapterLines = new Set(Object.values(adapterFields).map(line));
    expect([...holderLines]).toEqual([line(Tw.SQ_TAIL)]);
    expect([...adapterLines]).toEqual([line(Tw.SQ_HEAD)]);
    expect(line(Tw.SQ_TAIL)).not.toBe(line(Tw.SQ_HEAD));
    // neither shares a line with the header (read-mostly, MAX_TRANSFER is its last u64) or the grants
    const header = line(Tw.MAX_TRANSFER + 7);
    for (const l of [line(Tw.SQ_TAIL), line(Tw.SQ_HEAD)]) {
      expect(l).toBeGreaterThan(header);
      expect(l).toBeLessThan(line(Tw.GRANTS));
    }
    // every field a u32 inside its line
    for (const off of [...Object.values(holderFields), ...Object.values(adapterFields)]) {
      expect(off % 4).toBe(0);
      expect(line(off + 3)).toBe(line(off));
    }
  });

  it('keeps descriptors (holder-written) and CQEs (adapter-written) on lines apart', () => {
    expect(Tw.SQ % Tw.LINE_BYTES).toBe(0);
    expect(Tw.CQ % Tw.LINE_BYTES).toBe(0);
    expect(Desc.BYTES % Tw.LINE_BYTES).toBe(0); // one descriptor, whole lines
    expect(Tw.SQ + Ring.MAX_DEPTH * Desc.BYTES).toBeLessThanOrEqual(Tw.CQ);
  });

  describe('on a running model', () => {
    const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB });

    it("posts SQ_HEAD and CQ_TAIL at the header's offsets and stores nothing into the holder's line", async () => {
      const adapter = pool.adapters[0]!;
      const key = randomKey();
      const slice = await new Slices(adapter).program({
        kind: 'memory',
        ownerKey: key,
        base: 0,
        length: 2 * MiB,
      });
      const port = adapter.identity.fabricId;
      const windows = new TenantWindows(adapter);
      const opened = await windows.open(key, [{ port, slice }]);
      const w = TenantWindow.open(opened.path, { pollUs: 1_000 });
      try {
        // the spare words of both lines: marks the adapter must leave alone (it writes only its fields)
        const spare = (l: number, used: number[]) =>
          [...Array(Tw.LINE_BYTES / 4).keys()]
            .map((k) => l * Tw.LINE_BYTES + 4 * k)
            .filter((o) => !used.includes(o));
        const holderSpare = spare(line(Tw.SQ_TAIL), Object.values(holderFields));
        for (const [k, off] of holderSpare.entries()) w.regs.write32(off, 0xa5a50000 + k);
        const chains = 40;
        for (let i = 0; i < chains; i++)
          w.waitSync(w.post([{ op: 'fill', dst: { port, slice }, dstOffset: i, bytes: 1, value: i }]));
        expect(w.regs.read32(Tw.SQ_TAIL)).toBe(chains);
        expect(w.regs.read32(Tw.SQ_HEAD)).toBe(chains);
        expect(w.regs.read32(Tw.CQ_TAIL)).toBe(chains);
        expect(w.regs.read32(Tw.POLL_US)).toBe(1_000);
        for (const [k, off] of holderSpare.entries()) expect(w.regs.read32(off)).toBe(0xa5a50000 + k);
        // the adapter's line holds only its three fields
        for (const off of spare(line(Tw.SQ_HEAD), Object.values(adapterFields)))
          expect(w.regs.read32(off)).toBe(0);
      } finally {
        w.close();
        await windows.close(opened.window, key);
      }
    });

    it('shows a chain taken (SQ_HEAD) in the pass that took it, not with its completion', async () => {
      // the adapter stores SQ_HEAD once per pass of its loop or with the next completion (one store
      // into its line per round trip); a chain behind a long one is still shown taken at once
      const adapter = pool.adapters[0]!;
      const key = randomKey();
      const bytes = 32 * MiB; // filled in 1 MiB steps, one per pass (§8.8)
      const slice = await new Slices(adapter).program({
        kind: 'memory',
        ownerKey: key,
        base: 16 * MiB,
        length: bytes,
      });
      const port = adapter.identity.fabricId;
      const windows = new TenantWindows(adapter);
      const opened = await windows.open(key, [{ port, slice }]);
      const w = TenantWindow.open(opened.path, { pollUs: 10_000, timeoutMs: 30_000 });
      try {
        const long = w.post([{ op: 'fill', dst: { port, slice }, dstOffset: 0, bytes, value: 7 }]);
        const short = w.post([{ op: 'fill', dst: { port, slice }, dstOffset: 0, bytes: 1, value: 8 }]);
        let completedWhenTaken = -1;
        const until = Date.now() + 10_000;
        while (completedWhenTaken < 0 && Date.now() < until)
          if (w.regs.read32(Tw.SQ_HEAD) === 2) completedWhenTaken = w.regs.read32(Tw.CQ_TAIL);
        expect(completedWhenTaken).toBe(0);
        expect(w.waitSync(long).cookie).toBe(long);
        expect(w.waitSync(short).cookie).toBe(short);
      } finally {
        w.close();
        await windows.close(opened.window, key);
      }
    });
  });
});
