#!/usr/bin/env node
// Inter-server DMA throughput (ra-spec §8.9): two ra-model processes ("servers") joined by one
// fabric directory; a 64 MiB OP_COPY on server A's adapter moves a slice of A into a slice of B's
// adapter. Reference, measured in the same run on the same machine: C memcpy between two
// MAP_SHARED files (build/Release/ra-bench memcpy from A's memory file into B's), which is what the
// model's engine does per chunk.
// Not a test: nothing here fails on noise. Needs `npm run build` (dist/ and build/Release/).
//   node scripts/bench/fabric.mjs [--quick]
// value: median GB/s of the timed copies after warm-up (doorbell to completion, as a driver sees it).
// referenceValue: median of ra-bench's memcpy samples (after its own warm-up) on the same pages.
// ratio = value / referenceValue: the fraction of memcpy speed the fabric DMA reaches (1 = as fast).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cReference, MiB, median, root } from './stats.mjs';

/** C memcpy from A's memory file to B's, the same pages the fabric copy moves (GB/s per sample). */
function memcpyGbPerSec(srcFile, dstFile, bytes, reps) {
  return cReference('memcpy', srcFile, 0, dstFile, 0, bytes, 1, reps);
}

export async function run({ quick = false } = {}) {
  const driver = path.join(root, 'dist/driver/index.js');
  if (!existsSync(driver)) throw new Error(`${driver} is missing: run \`npm run build\` first`);
  const { Adapter, DmaController, ModelProcess, Slices } = await import(pathToFileURL(driver).href);
  const bytes = 64 * MiB;
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const fabricDir = mkdtempSync(path.join(base, 'rafabric-bench-fabric-'));
  const started = [];
  const opened = [];
  try {
    const start = async (fabricBase) => {
      const model = await ModelProcess.start({ adapters: 1, memoryBytes: 2 * bytes, fabricDir, fabricBase });
      started.push(model);
      const adapter = Adapter.open(model.uri(0));
      opened.push(adapter);
      return { model, adapter };
    };
    const A = await start(0);
    const B = await start(1);
    const key = 0x4fab1c0ffeen;
    const src = await new Slices(A.adapter).program({
      kind: 'memory',
      ownerKey: key,
      base: 0,
      length: bytes,
    });
    const dst = await new Slices(B.adapter).program({
      kind: 'memory',
      ownerKey: key,
      base: 0,
      length: bytes,
    });
    const dma = new DmaController(A.adapter);
    try {
      const srcLoc = { adapter: A.adapter.identity.fabricId, slice: src };
      const dstLoc = { adapter: B.adapter.identity.fabricId, slice: dst };
      await dma.submit({ op: 'fill', ownerKey: key, dst: srcLoc, dstOffset: 0, bytes, value: 0x5a });
      const copy = { op: 'copy', ownerKey: key, src: srcLoc, srcOffset: 0, dst: dstLoc, dstOffset: 0, bytes };
      const warmups = 2; // fault in B's pages and A's mapping of them
      for (let i = 0; i < warmups; i++) await dma.submit(copy);
      const reps = quick ? 5 : 15;
      const gbps = [];
      for (let i = 0; i < reps; i++) {
        const t0 = process.hrtime.bigint();
        await dma.submit(copy);
        gbps.push(bytes / Number(process.hrtime.bigint() - t0));
      }
      const value = median(gbps);
      const referenceValue = median(
        memcpyGbPerSec(
          path.join(A.model.dir, 'ra0.mem'),
          path.join(B.model.dir, 'ra0.mem'),
          bytes,
          quick ? 5 : 15,
        ),
      );
      return [
        {
          name: 'dma.fabric_gbps.64MiB',
          value,
          unit: 'GB/s',
          reference: 'C memcpy',
          referenceValue,
          ratio: value / referenceValue,
        },
      ];
    } finally {
      dma.close();
    }
  } finally {
    for (const a of opened) a.close();
    for (const m of started) await m.stop();
    rmSync(fabricDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const results = await run({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(results, null, 2));
}
