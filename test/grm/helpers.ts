// An embedded pool (model + agent + GRM) for GRM tests, and a driver-level view of the slice tables
// that does not trust the GRM: it opens the adapters itself and reads the registers.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { type SliceInfo, Slices } from '../../src/driver/slices.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';

export const MiB = 1024 * 1024;
export const quietLog = pino({ level: 'silent' });

export function useEmbedded(adapters = 3, memoryBytes = 256 * MiB): { pool: Embedded; stateDir: string } {
  const ctx = {} as { pool: Embedded; stateDir: string };
  beforeAll(async () => {
    ctx.stateDir = mkdtempSync(path.join(os.tmpdir(), 'grm-'));
    ctx.pool = await startEmbedded({
      adapters,
      memoryBytes,
      stateDir: ctx.stateDir,
      log: quietLog,
      reallocateEveryMs: 3_600_000,
    });
  });
  afterAll(async () => {
    await ctx.pool?.stop();
    rmSync(ctx.stateDir, { recursive: true, force: true });
  });
  return ctx;
}

/** Every slice in use on every adapter of the model folder, read through the driver. */
export function readSliceTables(modelDir: string, adapters: number): (SliceInfo & { adapter: number })[] {
  const out: (SliceInfo & { adapter: number })[] = [];
  for (let i = 0; i < adapters; i++) {
    const a = Adapter.open(`shm://${path.join(modelDir, `ra${i}.sock`)}`);
    try {
      out.push(...new Slices(a).inUse().map((s) => ({ ...s, adapter: i })));
    } finally {
      a.close();
    }
  }
  return out;
}

/** Overlapping slices of one kind on one adapter (memory extents, compute units, contexts of a slot). */
export function overlaps(slices: readonly (SliceInfo & { adapter: number })[]): string[] {
  const found: string[] = [];
  for (const [i, a] of slices.entries()) {
    for (const b of slices.slice(i + 1)) {
      if (a.adapter !== b.adapter || a.kind !== b.kind || a.slot !== b.slot) continue;
      if (a.base < b.base + b.length && b.base < a.base + a.length)
        found.push(`ra${a.adapter}: entries ${a.entry} and ${b.entry}`);
    }
  }
  return found;
}
