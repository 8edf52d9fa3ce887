// Issue 11: a large copy never keeps the admin mailbox waiting (ra-spec §8.8, admin before data). An
// unrelated adapter's commands, posted one after another while a 256 MiB copy runs, each wait for a
// step of the copy, not for a turn of 1 MiB: their median latency is a small fraction of the time the
// copy takes per MiB, measured in the same run (no absolute time: the machine may be shared).
//
// The copy writes memory never touched before, as a migration does: every page is faulted in, so a
// MiB takes milliseconds here (much longer under virtualization) and a command that waits for a turn
// of 1 MiB waits half of that on the median. Contents are checked at a few offsets, written and read
// through the memory files, not by the code under test.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DmaController } from '../../src/driver/dma.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';
import { Prng } from '../helpers/prng.js';

const COPY_BYTES = 256 * MiB;

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;

describe('a large copy and the admin mailbox', () => {
  const pool = useModel({ adapters: 3, memoryBytes: COPY_BYTES });
  const memoryFile = (adapter: number) => path.join(pool.model.dir, `ra${adapter}.mem`);

  it('commands of another adapter wait for a step of a 256 MiB copy, not for a MiB of it', async () => {
    const [a0, a1, a2] = pool.adapters as [
      (typeof pool.adapters)[0],
      (typeof pool.adapters)[0],
      (typeof pool.adapters)[0],
    ];
    const key = randomKey();
    const src = await new Slices(a0).program({ kind: 'memory', ownerKey: key, base: 0, length: COPY_BYTES });
    const dst = await new Slices(a1).program({ kind: 'memory', ownerKey: key, base: 0, length: COPY_BYTES });
    // 4 KiB of seeded bytes at a few offsets of the source, through its memory file (slice base 0).
    const prng = new Prng(42);
    const probes = [0, 7 * MiB + 123, COPY_BYTES / 2, COPY_BYTES - 4096].map((offset) => ({
      offset,
      bytes: Buffer.from(Array.from({ length: 4096 }, () => prng.int(0, 255))),
    }));
    const fd = openSync(memoryFile(0), 'r+');
    for (const p of probes) writeSync(fd, p.bytes, 0, p.bytes.length, p.offset);
    closeSync(fd);

    const dma = new DmaController(a0);
    try {
      let copyMs = 0;
      const started = performance.now();
      const copy = dma
        .submit({
          op: 'copy',
          ownerKey: key,
          src: { adapter: 0, slice: src },
          srcOffset: 0,
          dst: { adapter: 1, slice: dst },
          dstOffset: 0,
          bytes: COPY_BYTES,
        })
        .then(() => {
          copyMs = performance.now() - started;
        });
      const commandMs: number[] = [];
      while (copyMs === 0) {
        const t0 = performance.now();
        await a2.nop();
        if (copyMs === 0) commandMs.push(performance.now() - t0); // only commands the copy overlapped
      }
      await copy;

      const copyMsPerMiB = copyMs / (COPY_BYTES / MiB);
      const context = `copy ${copyMs.toFixed(0)} ms (${copyMsPerMiB.toFixed(2)} ms/MiB), ${commandMs.length} commands, median ${median(commandMs).toFixed(3)} ms`;
      expect(commandMs.length, context).toBeGreaterThanOrEqual(16);
      // Waiting for whole 1 MiB turns, a command posted at a random moment waits half a turn on the median.
      expect(median(commandMs), context).toBeLessThan(copyMsPerMiB / 4);
    } finally {
      dma.close();
    }

    const out = openSync(memoryFile(1), 'r');
    try {
      for (const p of probes) {
        const got = Buffer.alloc(p.bytes.length);
        readSync(out, got, 0, got.length, p.offset);
        expect(got.equals(p.bytes), `destination bytes at ${p.offset}`).toBe(true);
      }
    } finally {
      closeSync(out);
    }
  }, 120_000);
});
