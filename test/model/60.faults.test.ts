// Fault injection (§6) and surprise removal: the driver gives a typed error in bounded time, never hangs.
import { describe, expect, it } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { DmaController } from '../../src/driver/dma.js';
import { ModelProcess } from '../../src/driver/model-process.js';
import { Fault } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { MiB, randomKey, testImage, useModel } from '../helpers/model.js';

async function withFreshModel(fn: (model: ModelProcess, a: Adapter) => Promise<void>) {
  const model = await ModelProcess.start({ adapters: 1, memoryBytes: 64 * MiB });
  const a = Adapter.open(model.uri(0));
  try {
    await fn(model, a);
  } finally {
    a.close();
    model.kill('SIGKILL');
    await model.stop();
  }
}

/** A 10-byte fill of slice `m`: the smallest descriptor that exercises the DMA path. */
const tinyFill = (key: bigint, m: number) =>
  ({ op: 'fill', ownerKey: key, dst: { adapter: 0, slice: m }, dstOffset: 0, bytes: 10, value: 1 }) as const;

describe('faults', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB });

  it('FAIL_NEXT_LOAD leaves the slot in ERROR with LOAD_FAILED; a new load recovers it', async () => {
    const a = pool.adapters[0]!;
    const slots = new Slots(a);
    a.injectFault(Fault.FAIL_NEXT_LOAD);
    await expect(slots.load(0, testImage('sha256'))).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    expect(slots.read(0)).toMatchObject({ state: 'error', lastError: 20 });
    expect((await slots.load(0, testImage('sha256'))).state).toBe('ready');
  });

  it('FAIL_NEXT_DMA fails one descriptor with FAULT_INJECTED, the next succeeds', async () => {
    const a = pool.adapters[0]!;
    const key = randomKey();
    const slices = new Slices(a);
    const m = await slices.program({ kind: 'memory', ownerKey: key, base: 0, length: 2 * MiB });
    const dma = new DmaController(a);
    try {
      a.injectFault(Fault.FAIL_NEXT_DMA);
      await new Promise((r) => setTimeout(r, 20));
      await expect(dma.submit(tinyFill(key, m))).rejects.toMatchObject({ code: 'FAULT_INJECTED' });
      await dma.submit(tinyFill(key, m));
    } finally {
      dma.close();
      await slices.release(m, key);
    }
  });

  it('STALL_NEXT_DMA delays one descriptor; a short driver timeout reports TIMEOUT', async () => {
    const a = pool.adapters[0]!;
    const key = randomKey();
    const slices = new Slices(a);
    const m = await slices.program({ kind: 'memory', ownerKey: key, base: 0, length: 2 * MiB });
    const dma = new DmaController(a, { timeoutMs: 100 });
    try {
      a.injectFault(Fault.STALL_NEXT_DMA, 400);
      await new Promise((r) => setTimeout(r, 20));
      const t0 = Date.now();
      await expect(dma.submit(tinyFill(key, m))).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(Date.now() - t0).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      dma.close();
      await slices.release(m, key);
    }
  });

  it('HANG: waits end with ADAPTER_HUNG when the heartbeat stops', () =>
    withFreshModel(async (_m, a) => {
      a.injectFault(Fault.HANG);
      await new Promise((r) => setTimeout(r, 30));
      const t0 = Date.now();
      await expect(a.nop()).rejects.toMatchObject({ code: 'ADAPTER_HUNG' });
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(a.status().halted).toBe(true);
    }));

  it('EXIT: the adapter disappears and waits end with ADAPTER_GONE', () =>
    withFreshModel(async (model, a) => {
      const key = randomKey();
      const m = await new Slices(a).program({ kind: 'memory', ownerKey: key, base: 0, length: 2 * MiB });
      const dma = new DmaController(a);
      a.injectFault(Fault.STALL_NEXT_DMA, 5000);
      const waiting = dma.submit(tinyFill(key, m));
      await new Promise((r) => setTimeout(r, 50));
      a.injectFault(Fault.EXIT);
      const t0 = Date.now();
      await expect(waiting).rejects.toMatchObject({ code: 'ADAPTER_GONE' });
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(await model.waitExit()).toBe(3);
    }));

  it('the model killed while the driver waits gives ADAPTER_GONE within a bounded time', async () => {
    const image = testImage('sha256', { payload: Buffer.alloc(2 * MiB) });
    const slow = await ModelProcess.start({ adapters: 1, memoryBytes: 64 * MiB, configBytesPerSec: 1 * MiB });
    const b = Adapter.open(slow.uri(0));
    try {
      const loading = new Slots(b).load(0, image); // configures for ~2 s at 1 MiB/s
      await new Promise((r) => setTimeout(r, 100));
      slow.kill('SIGKILL');
      const t0 = Date.now();
      await expect(loading).rejects.toMatchObject({ code: 'ADAPTER_GONE' });
      expect(Date.now() - t0).toBeLessThan(1000);
      await expect(b.nop()).rejects.toMatchObject({ code: 'ADAPTER_GONE' });
    } finally {
      b.close();
      await slow.stop();
    }
  });
});
