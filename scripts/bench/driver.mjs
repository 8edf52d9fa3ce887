// Driver figures, each against a C reference measured in the same run on the same machine:
//   regs.write_ns / regs.read_ns   Atomics on the mapped register file vs seq_cst C loops on the
//                                  same file and offsets (like with like: ordered vs ordered)
//   doorbell.rtt_us.interrupt      one-byte fill, doorbell -> completion interrupt vs a C eventfd
//                                  ping-pong between two processes, the two taking turns in rounds
//   doorbell.rtt_us.poll           the same in poll mode (ra-spec §8) vs a C shared-memory spin
//                                  ping-pong between two processes; submitted as a latency-bound user
//                                  does: submitSync (the completion itself when seen while spinning,
//                                  awaited only when it outlasts the spin: `fallbacks` counts those)
//                                  (both round trips are run for WARM_UP_MS before they are measured)
//   dma.a2a_gbps.<size>            adapter -> adapter copies vs C memcpy between the same pages
//                                  (the adapters' memory files at the slices' offsets)
import path from 'node:path';
import { cReference, KiB, MiB, median, result, root, samples, turns } from './stats.mjs';

/**
 * Both sides' wake-ups are bimodal on this kind of machine (the scheduler puts the two processes on one
 * core or on two, ~16 vs ~24-32 us, and keeps that for tens of ms): each round samples one placement per
 * side, so the ratio of the pooled medians needs several rounds. With 4 it swung 0.7-1.8x from run to
 * run on an otherwise steady machine; 8 halve that spread at ~0.5 s more.
 */
const IRQ_ROUNDS = 8;
/**
 * Round trips run this long before either round-trip figure is measured. The C programs need one
 * warm-up batch; our round trip is JavaScript, optimised by V8 on background threads, which on a busy
 * 2-core machine finish late: after a warm-up of one batch (300 trips, ~10 ms) the first interrupt
 * round ran at 3-5x the C ping-pong and the later ones at 1.3-1.8x; after 1 s every round was
 * 1.0-1.5x (measured by turns, 2 runs x 4 rounds each way).
 */
const WARM_UP_MS = 1000;

/** Runs `trip` (one batch of round trips) over and over for WARM_UP_MS. */
async function warmUp(trip) {
  const until = Date.now() + WARM_UP_MS;
  while (Date.now() < until) await trip();
}

const { Adapter, DmaController, ModelProcess, Slices } = await import(
  path.join(root, 'dist/driver/index.js')
);
const { Bar } = await import(path.join(root, 'dist/driver/regs.js'));

const SLICE_BYTES = 64 * MiB;
const DMA_SIZES = [
  ['4KiB', 4 * KiB],
  ['64KiB', 64 * KiB],
  ['1MiB', MiB],
  ['64MiB', 64 * MiB],
];

export async function run({ quick }) {
  const reps = quick ? 5 : 11;
  const model = await ModelProcess.start({ adapters: 2, memoryBytes: 2 * SLICE_BYTES });
  const [a0, a1] = model.uris.map((u) => Adapter.open(u));
  try {
    return [
      ...registerFigures(a0, path.join(model.dir, 'ra0.bar'), quick, reps),
      ...(await transferFigures(a0, a1, model.dir, quick, reps)),
    ];
  } finally {
    a0.close();
    a1.close();
    await model.stop();
  }
}

// Top-level functions with their inputs as parameters, as a driver's accessors are: closures over
// mutable variables would measure V8's context slots, not the register access.
function storeLoop(u32, base, n) {
  for (let i = 0; i < n; i++) Atomics.store(u32, base + (i & 63), i);
  return 0;
}

function loadLoop(u32, base, n) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum ^= Atomics.load(u32, base + (i & 63));
  return sum;
}

/** The staging window is the scratch area: no live register is disturbed (ra-spec §2). */
function registerFigures(adapter, barFile, quick, reps) {
  const n = quick ? 200_000 : 2_000_000;
  const u32 = adapter.regs.u32;
  const base = Bar.STAGING / 4;
  let checksum = 0;
  const timed = (loop) => {
    for (let i = 0; i < 3; i++) checksum ^= loop(u32, base, n); // warm-up: optimised before timed
    return Array.from({ length: reps }, () => {
      const t0 = process.hrtime.bigint();
      checksum ^= loop(u32, base, n);
      return Number(process.hrtime.bigint() - t0) / n;
    });
  };
  const writeNs = timed(storeLoop);
  const readNs = timed(loadLoop);
  const cStore = cReference('store', barFile, Bar.STAGING, n, reps);
  const cLoad = cReference('load', barFile, Bar.STAGING, n, reps);
  const loops = { loopOps: n, reps, checksum };
  return [
    result(
      'regs.write_ns',
      median(writeNs),
      'ns',
      'C seq_cst store loop, same mapping',
      median(cStore),
      loops,
    ),
    result('regs.read_ns', median(readNs), 'ns', 'C seq_cst load loop, same mapping', median(cLoad), loops),
  ];
}

async function transferFigures(a0, a1, dir, quick, reps) {
  const key = 0x5eed_b0b5n;
  const s0 = await new Slices(a0).program({ kind: 'memory', ownerKey: key, base: 0, length: SLICE_BYTES });
  const s1 = await new Slices(a1).program({ kind: 'memory', ownerKey: key, base: 0, length: SLICE_BYTES });
  const src = { adapter: a0.identity.fabricId, slice: s0 };
  const dst = { adapter: a1.identity.fabricId, slice: s1 };
  const out = [];
  const irq = new DmaController(a0);
  try {
    await irq.submit({ op: 'fill', ownerKey: key, dst: src, dstOffset: 0, bytes: SLICE_BYTES, value: 0x5a });
    const tiny = { op: 'fill', ownerKey: key, dst: src, dstOffset: 0, bytes: 1, value: 0x5a };
    const trips = quick ? 300 : 2000;
    await warmUp(() => roundTrips(irq, tiny, trips, 1)); // the code then measured
    // The driver's round trip and the C eventfd ping-pong take turns (IRQ_ROUNDS rounds): measured
    // one block after the other, a neighbour's burst on the shared machine lands on one side only.
    const irqTurns = await turns(
      IRQ_ROUNDS,
      () => roundTrips(irq, tiny, trips, reps),
      () => cReference('eventfd', trips, reps),
    );
    out.push(
      result(
        'doorbell.rtt_us.interrupt',
        median(irqTurns.ours),
        'us',
        'C eventfd ping-pong between two processes, the two taking turns',
        median(irqTurns.reference),
        { tripsPerSample: trips, rounds: IRQ_ROUNDS, roundRatios: irqTurns.ratios },
      ),
    );
    out.push(...(await dmaFigures(irq, key, src, dst, a0.identity.ringDepth, dir, quick, reps)));
  } finally {
    irq.close();
  }
  const poll = new DmaController(a0, { mode: 'poll', pollUs: 200 });
  try {
    const tiny = { op: 'fill', ownerKey: key, dst: src, dstOffset: 0, bytes: 1, value: 0x5a };
    const trips = quick ? 2000 : 20_000;
    await warmUp(() => polledTrips(poll, tiny, 1000, 1)); // the code then measured
    const polled = await polledTrips(poll, tiny, trips, reps);
    out.push(
      result(
        'doorbell.rtt_us.poll',
        median(polled.us),
        'us',
        'C shared-memory spin ping-pong between two processes',
        median(cReference('spin', trips, reps)),
        { tripsPerSample: trips, pollUs: 200, fallbacks: polled.fallbacks },
      ),
    );
  } finally {
    poll.close();
  }
  return out;
}

/**
 * poll mode: microseconds per submitSync -> completion, one in flight at a time; a completion that
 * outlasted the driver's spin comes as a promise, awaited (and counted) as a caller would.
 */
async function polledTrips(dma, desc, trips, reps) {
  let fallbacks = 0;
  const us = await samples(reps, async () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < trips; i++) {
      const c = dma.submitSync(desc);
      if (c instanceof Promise) {
        fallbacks++;
        await c;
      }
    }
    return Number(process.hrtime.bigint() - t0) / trips / 1e3;
  });
  return { us, fallbacks };
}

/** Microseconds per submit -> completion of one descriptor, one in flight at a time. */
function roundTrips(dma, desc, trips, reps) {
  return samples(reps, async () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < trips; i++) await dma.submit(desc);
    return Number(process.hrtime.bigint() - t0) / trips / 1e3;
  });
}

/**
 * GB/s of `count` copies of each size, up to half the ring in flight (independent descriptors behind
 * one doorbell, as a throughput-bound user submits them), against memcpy of the same pages.
 */
async function dmaFigures(dma, key, src, dst, ringDepth, dir, quick, reps) {
  const out = [];
  const bytesPerSample = quick ? 8 * MiB : 64 * MiB;
  const inFlight = Math.max(1, ringDepth >> 1);
  for (const [label, bytes] of DMA_SIZES) {
    const count = Math.max(1, Math.floor(bytesPerSample / bytes));
    const copy = { op: 'copy', ownerKey: key, src, srcOffset: 0, dst, dstOffset: 0, bytes };
    const gbps = await samples(reps, async () => {
      const t0 = process.hrtime.bigint();
      for (let done = 0; done < count; done += inFlight) {
        await dma.submitBatch(Array.from({ length: Math.min(inFlight, count - done) }, () => copy));
      }
      return (bytes * count) / Number(process.hrtime.bigint() - t0); // bytes per ns = GB/s
    });
    const memcpy = cReference(
      'memcpy',
      path.join(dir, 'ra0.mem'),
      0,
      path.join(dir, 'ra1.mem'),
      0,
      bytes,
      count,
      reps,
    );
    out.push(
      result(
        `dma.a2a_gbps.${label}`,
        median(gbps),
        'GB/s',
        'C memcpy between the same pages',
        median(memcpy),
        {
          copiesPerSample: count,
          inFlight: Math.min(inFlight, count),
        },
      ),
    );
  }
  return out;
}
