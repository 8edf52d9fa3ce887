// Interrupt completions for tenant windows (ra-spec §18.5): with `completion: 'interrupt'` the client
// rings the window's doorbell FIFO and sleeps until the model writes its interrupt FIFO. The client
// has no timer and no spinning in that mode, so a model that never raised the interrupt would leave
// every wait to its timeout; and a revoked window wakes a waiter at once (the FIFO hangs up). The
// doorbell's effect is a latency (a window is otherwise looked at once per 5 ms tick): the benchmark
// measures it (scripts/bench/access.mjs, access.irq_rtt_us), a timing assertion here would be flaky.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MappedSlice } from '../../src/client/memory.js';
import { TenantWindow } from '../../src/client/window.js';
import { Slices } from '../../src/driver/slices.js';
import { TenantWindows } from '../../src/driver/tenants.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';

describe('tenant window interrupts', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB });
  const key = randomKey();
  let slice: number;
  const port = () => pool.adapters[0]!.identity.fabricId;

  beforeAll(async () => {
    slice = await new Slices(pool.adapters[0]!).program({
      kind: 'memory',
      ownerKey: key,
      base: 0,
      length: 48 * MiB,
    });
  });

  it('completes copies by interrupt, with the model asleep between them (POLL_US 0), bytes checked', async () => {
    const opened = await new TenantWindows(pool.adapters[0]!).open(key, [{ port: port(), slice }]);
    const w = TenantWindow.open(opened.path, { completion: 'interrupt', timeoutMs: 5_000 });
    const mem = MappedSlice.map(`${opened.memoryPrefix}${slice}`, slice, 0, 48 * MiB); // its grant file
    try {
      expect(existsSync(`${opened.path}.db`) && existsSync(`${opened.path}.irq`)).toBe(true);
      const S = { port: port(), slice };
      const data = randomBytes(64 * 1024);
      mem.bytes.set(data, 0);
      for (let i = 1; i <= 50; i++) {
        await w.submit([{ op: 'copy', src: S, srcOffset: 0, dst: S, dstOffset: i * 65536, bytes: 65536 }]);
        expect(Buffer.from(mem.bytes.subarray(i * 65536, (i + 1) * 65536)).equals(data)).toBe(true);
      }
    } finally {
      mem.close();
      w.close();
      await new TenantWindows(pool.adapters[0]!).close(opened.window, key);
    }
  });

  it('a waiter is woken by the revocation (the interrupt FIFO hangs up), not by its timeout', async () => {
    const windows = new TenantWindows(pool.adapters[0]!);
    const opened = await windows.open(key, [{ port: port(), slice }]);
    const w = TenantWindow.open(opened.path, { completion: 'interrupt', timeoutMs: 60_000 });
    try {
      const S = { port: port(), slice };
      const t0 = Date.now();
      // 48 MiB fills, one after another: revoked while they run
      const waits = [0, 1, 2, 3].map(() =>
        w.submit([{ op: 'fill', dst: S, dstOffset: 0, bytes: 48 * MiB, value: 0x33 }]).then(
          () => 'OK',
          (e: { code: string }) => e.code,
        ),
      );
      await windows.close(opened.window, key);
      const outcomes = await Promise.all(waits);
      expect(outcomes).toContain('GRANT_REVOKED');
      for (const o of outcomes) expect(['OK', 'GRANT_REVOKED']).toContain(o);
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(existsSync(`${opened.path}.db`) || existsSync(`${opened.path}.irq`)).toBe(false);
    } finally {
      w.close();
    }
  });
});
