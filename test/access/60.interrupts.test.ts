// Interrupt completions for tenant windows (ra-spec §18.5): with `completion: 'interrupt'` the client
// rings the window's doorbell FIFO and sleeps until the model writes its interrupt FIFO. The client
// has no timer and no spinning in that mode, so a model that never raised the interrupt would leave
// every wait to its timeout; and a revoked window wakes a waiter at once (the FIFO hangs up). The
// doorbell's effect is a latency (a window is otherwise looked at once per 5 ms tick): the benchmark
// measures it (scripts/bench/access.mjs, access.irq_rtt_us), a timing assertion here would be flaky.
// The client watches the interrupt FIFO with the addon's uv_poll handle, which keeps the event loop
// alive only while someone waits, and the waiters' deadlines share one timer; the model watches the
// doorbell FIFO edge-triggered and empties it at its heartbeat tick.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { MappedSlice } from '../../src/client/memory.js';
import { TenantWindow } from '../../src/client/window.js';
import { packageRoot } from '../../src/driver/native.js';
import { Fault, Tw } from '../../src/driver/regs.js';
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

  it('closing a window wakes its waiters with GRANT_INVALID (not a stray error from the unmapped window)', async () => {
    const windows = new TenantWindows(pool.adapters[0]!);
    const opened = await windows.open(key, [{ port: port(), slice }]);
    const w = TenantWindow.open(opened.path, { completion: 'interrupt', timeoutMs: 60_000 });
    try {
      const S = { port: port(), slice };
      const wait = w.submit([{ op: 'fill', dst: S, dstOffset: 0, bytes: 48 * MiB, value: 0x44 }]).then(
        () => 'OK',
        (e: { code?: string; message: string }) => e.code ?? e.message,
      );
      w.close();
      expect(await wait).toBe('GRANT_INVALID');
    } finally {
      w.close();
      await windows.close(opened.window, key);
    }
  });

  it('deadlines share one timer: while the adapter holds the chains, each waiter fails with TIMEOUT at its own deadline', async () => {
    const windows = new TenantWindows(pool.adapters[0]!);
    const opened = await windows.open(key, [{ port: port(), slice }]);
    const timeoutMs = 300;
    const w = TenantWindow.open(opened.path, { completion: 'interrupt', timeoutMs });
    try {
      const S = { port: port(), slice };
      const fill = [{ op: 'fill' as const, dst: S, dstOffset: 0, bytes: 1, value: 0x11 }];
      const cqTail = () => w.regs.read32(Tw.CQ_TAIL);
      const posted = cqTail();
      pool.adapters[0]!.injectFault(Fault.STALL_NEXT_DMA, 1000); // §6: the first chain waits 1 s
      const settle = (p: Promise<unknown>, t0: number) =>
        p.then(
          () => ({ code: 'OK', atMs: Date.now() - t0 }),
          (e: { code?: string }) => ({ code: e.code, atMs: Date.now() - t0 }),
        );
      const t0 = Date.now();
      const first = settle(w.submit(fill), t0);
      await new Promise((r) => setTimeout(r, 150));
      const t1 = Date.now();
      const second = settle(w.submit(fill), t1);
      const [a, b] = await Promise.all([first, second]);
      expect(a.code).toBe('TIMEOUT');
      expect(b.code).toBe('TIMEOUT');
      // not woken early: each at its own deadline, the second one after the timer was re-armed for it
      expect(a.atMs).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(b.atMs).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(t1 - t0 + b.atMs).toBeGreaterThan(a.atMs);
      expect(a.atMs).toBeLessThan(10_000);
      // after the stall (both completions posted): the next chain completes by interrupt
      for (let i = 0; i < 1000 && cqTail() - posted < 2; i++) await new Promise((r) => setTimeout(r, 10));
      const done = await w.submit([{ op: 'fill', dst: S, dstOffset: 0, bytes: 1, value: 0x22 }]);
      expect(done.outBytes).toBe(1);
    } finally {
      w.close();
      await windows.close(opened.window, key);
    }
  });

  it('the interrupt watch keeps a process alive while it waits, and not once it is idle (window left open)', async () => {
    const windows = new TenantWindows(pool.adapters[0]!);
    const opened = await windows.open(key, [{ port: port(), slice }]);
    try {
      // a separate Node process (the built client, dist/): it waits for a fill by interrupt, prints
      // 'done' and returns without closing the window; it must then exit on its own
      const client = pathToFileURL(path.join(packageRoot, 'dist/client/window.js')).href;
      const script = `
        const { TenantWindow } = await import(${JSON.stringify(client)});
        const w = TenantWindow.open(${JSON.stringify(opened.path)}, { completion: 'interrupt', timeoutMs: 20000 });
        const S = { port: ${port()}, slice: ${slice} };
        const c = await w.submit([{ op: 'fill', dst: S, dstOffset: 0, bytes: 16 * 1024 * 1024, value: 0x77 }]);
        console.log('done', c.outBytes);`;
      const out = await new Promise<{ code: number | null; stdout: string; killed: boolean }>((resolve) => {
        const child = execFile(
          process.execPath,
          ['--input-type=module', '-e', script],
          { timeout: 15_000 },
          (err, stdout) => resolve({ code: child.exitCode, stdout, killed: err?.killed ?? false }),
        );
      });
      expect(out.killed).toBe(false);
      expect(out.stdout.trim()).toBe(`done ${16 * MiB}`);
      expect(out.code).toBe(0);
    } finally {
      await windows.close(opened.window, key);
    }
  });

  it('the model empties a doorbell FIFO its holder filled (at the tick) and the window keeps completing', async () => {
    const windows = new TenantWindows(pool.adapters[0]!);
    const opened = await windows.open(key, [{ port: port(), slice }]);
    const w = TenantWindow.open(opened.path, { completion: 'interrupt', timeoutMs: 5_000 });
    const db = openSync(`${opened.path}.db`, constants.O_WRONLY | constants.O_NONBLOCK);
    const chunk = Buffer.alloc(4096, 1);
    /** bytes the FIFO took before it was full (EAGAIN) */
    const fillFifo = (): number => {
      let bytes = 0;
      for (;;) {
        try {
          bytes += writeSync(db, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return bytes;
          throw err;
        }
      }
    };
    try {
      expect(fillFifo()).toBeGreaterThanOrEqual(4096);
      const S = { port: port(), slice };
      for (let i = 0; i < 5; i++)
        await w.submit([{ op: 'fill', dst: S, dstOffset: i, bytes: 1, value: 0x60 + i }]);
      // emptied within a few 5 ms ticks: it takes a full FIFO's worth of bytes again
      let again = 0;
      for (let tries = 0; tries < 200 && again < 32 * 1024; tries++) {
        await new Promise((r) => setTimeout(r, 10));
        again += fillFifo();
      }
      expect(again).toBeGreaterThanOrEqual(32 * 1024);
    } finally {
      closeSync(db);
      w.close();
      await windows.close(opened.window, key);
    }
  });
});
