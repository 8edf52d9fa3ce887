// The interrupt waiters of every adapter share one safety timer (src/driver/waiter.ts): a pool running
// one command after another on each adapter no longer arms and clears an interval per command. What
// the shared timer must keep: a wait whose interrupt never comes still times out while waits on
// other adapters come and go (one adapter going idle must not stop the others' safety net), and a
// wait whose interrupt was lost still ends when its condition holds.
import { describe, expect, it } from 'vitest';
import { DriverCode } from '../../src/driver/errors.js';
import type { NativeDevice } from '../../src/driver/native.js';
import type { RegisterFile } from '../../src/driver/registers.js';
import { InterruptWaiter } from '../../src/driver/waiter.js';

/** A device whose interrupts never arrive (watch installs nothing) and whose heartbeat advances. */
function silentAdapter(name: string): InterruptWaiter {
  const device = {
    open: true,
    watch: () => undefined,
    keepAlive: () => undefined,
  } as unknown as NativeDevice;
  let beat = 0n;
  const regs = { read32: () => 0, read64: () => beat++ } as unknown as RegisterFile;
  return new InterruptWaiter(device, regs, name);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('interrupt waiters: one shared safety timer', () => {
  it('times a wait out while waits on other adapters start and end beside it', async () => {
    const stuck = silentAdapter('ra0');
    const busy = silentAdapter('ra1');
    const started = Date.now();
    const timedOut = stuck
      .until(0, () => false, 150, 'a command that never completes')
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    // ra1 runs short waits one after another: each ends on the safety poll (no interrupt arrives)
    for (let i = 0; i < 4; i++) {
      let done = false;
      const wait = busy.until(0, () => done, 5_000, `command ${i}`);
      await sleep(5);
      done = true;
      await wait;
    }
    const err = (await timedOut) as { code?: string; message?: string } | undefined;
    expect(err?.code).toBe(DriverCode.TIMEOUT);
    expect(err?.message).toMatch(/ra0: timed out after 150 ms waiting for a command that never completes/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('ends a wait whose interrupt was lost once its condition holds, on the next safety tick', async () => {
    const waiter = silentAdapter('ra2');
    let ready = false;
    setTimeout(() => {
      ready = true;
    }, 30);
    const started = Date.now();
    await waiter.until(0, () => ready, 5_000, 'a completion whose interrupt was lost');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
