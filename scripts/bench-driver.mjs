#!/usr/bin/env node
// Driver benchmarks. Prints JSON; each figure is paired with a C reference measured in the same run
// (build/Release/ra-bench). Not a test: nothing here fails on noise.
//   node scripts/bench-driver.mjs [--quick]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { Adapter, DmaController, ModelProcess, Slices } = await import(
  path.join(root, 'dist/driver/index.js')
);
const { Bar } = await import(path.join(root, 'dist/driver/regs.js'));
const cbench = (...args) =>
  JSON.parse(execFileSync(path.join(root, 'build/Release/ra-bench'), args.map(String), { encoding: 'utf8' }));

const quick = process.argv.includes('--quick');
const MiB = 1024 * 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const model = await ModelProcess.start({ adapters: 2, memoryBytes: 512 * MiB });
const [a0, a1] = model.uris.map((u) => Adapter.open(u));
const results = { machine: { node: process.version, cpus: (await import('node:os')).cpus().length } };
try {
  // 1. Register access: Atomics on the mapped BAR against a C loop on the same file and offset.
  // The staging window is used as the scratch area so that no live register is disturbed.
  const n = quick ? 200_000 : 5_000_000;
  const u32 = a0.regs.u32;
  const base = Bar.STAGING / 4;
  const runs = (fn) => median(Array.from({ length: 5 }, fn));
  const writeNs = runs(() => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) Atomics.store(u32, base + (i & 63), i);
    return Number(process.hrtime.bigint() - t0) / n;
  });
  let sink = 0;
  const readNs = runs(() => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink ^= Atomics.load(u32, base + (i & 63));
    return Number(process.hrtime.bigint() - t0) / n;
  });
  const c = cbench('reg', path.join(model.dir, 'ra0.bar'), Bar.STAGING, n);
  results.registers = {
    ts: { writeNsPerOp: writeNs, readNsPerOp: readNs },
    c,
    ratio: { write: writeNs / c.seqCstWriteNsPerOp, read: readNs / c.readNsPerOp },
    note: 'TS uses Atomics (exact width, sequentially consistent); write ratio is against C seq_cst stores',
    sink: sink & 1,
  };

  // 2. DMA adapter -> adapter against C memcpy between two shared-memory files.
  const bytes = quick ? 16 * MiB : 64 * MiB;
  const key = 0x1234567n;
  const s0 = await new Slices(a0).program({ kind: 'memory', ownerKey: key, base: 0, length: bytes });
  const s1 = await new Slices(a1).program({ kind: 'memory', ownerKey: key, base: 0, length: bytes });
  const dma = new DmaController(a0);
  const copy = {
    op: 'copy',
    ownerKey: key,
    src: { adapter: 0, slice: s0 },
    srcOffset: 0,
    dst: { adapter: 1, slice: s1 },
    dstOffset: 0,
    bytes,
  };
  await dma.submit({
    op: 'fill',
    ownerKey: key,
    dst: { adapter: 0, slice: s0 },
    dstOffset: 0,
    bytes,
    value: 0x5a,
  });
  await dma.submit(copy); // warm-up: faults the destination pages in
  const reps = quick ? 3 : 10;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await dma.submit(copy);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const mc = cbench('memcpy', model.dir, bytes, reps);
  results.dma = {
    bytes,
    dmaGbPerSec: bytes / best / 1e9,
    memcpyGbPerSec: mc.gbPerSec,
    ratio: mc.gbPerSec / (bytes / best / 1e9),
  };

  // 3. Doorbell -> completion round trip against a C eventfd ping-pong between two processes.
  const trips = quick ? 500 : 5000;
  const tiny = {
    op: 'fill',
    ownerKey: key,
    dst: { adapter: 0, slice: s0 },
    dstOffset: 0,
    bytes: 1,
    value: 1,
  };
  const roundTrip = async (ctl) => {
    for (let i = 0; i < 100; i++) await ctl.submit(tiny);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < trips; i++) await ctl.submit(tiny);
    return Number(process.hrtime.bigint() - t0) / trips / 1e3;
  };
  const interruptUs = await roundTrip(dma);
  dma.close();
  const poller = new DmaController(a0, { mode: 'poll', pollUs: 200 });
  const pollUs = await roundTrip(poller);
  poller.close();
  const nopT0 = process.hrtime.bigint();
  for (let i = 0; i < trips / 5; i++) await a0.nop();
  const adminUs = Number(process.hrtime.bigint() - nopT0) / (trips / 5) / 1e3;
  const pp = cbench('pingpong', trips * 4);
  results.roundTrip = {
    interruptUs,
    pollUs,
    adminCommandUs: adminUs,
    cEventfdPingPongUs: pp.usPerRoundTrip,
    ratio: { interrupt: interruptUs / pp.usPerRoundTrip, poll: pollUs / pp.usPerRoundTrip },
  };
} finally {
  a0.close();
  a1.close();
  await model.stop();
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
