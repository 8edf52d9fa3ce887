// The instance's direct path (docs/access.md, ra-spec §18), each figure beside references measured
// in the same run on the same machine:
//   access.<fn>_gbps.direct 64 MiB through aes-256-gcm / sha256 via a grant (Instance.job): timed
//                           from posting the descriptor on the instance's own window to the client
//                           seeing its completion (polled; the model runs it in 1 MiB steps, §8.8).
//                           The input lies in the instance's memory slice (stored through its mapping
//                           beforehand), the output lands in the slice; a first job warmed every page.
//                           The reference, measured at the same size: the same OpenSSL calls the
//                           model's engine makes (init with key and IV, update, final, tag), on one
//                           input and one output buffer in one C process, also warmed by a first pass
//                           (ra-bench engine). `endToEndGbps` beside it also counts storing the input
//                           through the mapping and copying the output out of it (into one buffer
//                           allocated once).
//   access.<fn>_gbps.http   the HTTP jobs endpoint (POST /v1/allocations/:id/jobs, base64, 32 MiB: its
//                           limit), the same engine reference
//   access.mapped_gbps      load/store through the mapped slice (TypedArray.set between two ranges
//                           of it) vs C memcpy between the same two ranges of the same file, the two
//                           taking turns in rounds, both pinned to the same CPU in a round (each CPU
//                           in turn: this VM's vCPUs copy DRAM at different speeds; byCpu says each
//                           CPU's figures); with --rt also at SCHED_FIFO 1
//   access.poll_rtt_us      one-byte fill posted on the window, completion polled, one at a time, vs
//                           a C shared-memory spin ping-pong between two processes: on a model alone
//                           (access.poll_rtt_us) and on the GRM's pool, agent beside it (_grm)
//   access.irq_rtt_us       the same fill completed by interrupt (completion: 'interrupt', ra-spec
//                           §18.5) vs a C eventfd ping-pong between two processes, the two taking
//                           turns in IRQ_ROUNDS rounds (roundRatios: each round's ratio)
//   access.*_rtt_us.rt      with --rt only: both round trips again on a model alone, with the model,
//                           this process's main thread and the C reference all at SCHED_FIFO
//                           priority 1 (chrt) while they are measured: "a free core" on a shared
//                           machine (the kernel's RT throttling still leaves others 5 % of each
//                           second). Needs root (or CAP_SYS_NICE); every run is short (< 2 s).
// Every output is checked against node:crypto once. Usage: node scripts/bench/access.mjs [--quick] [--rt]
// (prints the JSON results); run() is the area entry the suite's other modules also export.
// --rt (root only; opt-in), jobs: while the direct samples and their engine reference run (a few seconds),
// this process, the device model and so the reference (forked from here) run SCHED_FIFO priority 1,
// as under `chrt -f 1`: on a shared machine each gets a core when it is runnable, and both sides
// alike. Figures then carry `rt: true`; the HTTP path runs as usual (the round trips: `.rt` above).
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { pino } from 'pino';
import { cReference, MiB, median, result, root, samples, turns } from './stats.mjs';

const { startEmbedded } = await import(path.join(root, 'dist/modes/embedded.js'));
const { createApiServer } = await import(path.join(root, 'dist/api/server.js'));
const { Instance, TenantWindow } = await import(path.join(root, 'dist/client/index.js'));
const { Adapter, ModelProcess, Slices } = await import(path.join(root, 'dist/driver/index.js'));
const { TenantWindows } = await import(path.join(root, 'dist/driver/tenants.js'));

const log = (line) => process.stderr.write(`bench access: ${line}\n`);
const OUT_OFFSET = 96 * MiB;

function aes256gcm(key, iv, input) {
  const c = createCipheriv('aes-256-gcm', key, iv);
  return Buffer.concat([c.update(input), c.final(), c.getAuthTag()]);
}

/**
 * --rt: SCHED_FIFO priority 1 (chrt) for the processes `pids` until leave() sets them back to
 * SCHED_OTHER; children forked meanwhile (the C reference) inherit it. `threads` says which of each
 * process's threads, because the two measurements differ in who runs when:
 *   'all'   (chrt -a) the jobs: between its looks at CQ_TAIL the client sleeps (1 ms timers, wait())
 *           while the model runs the job, so no thread spins for long; every thread of both (V8's GC
 *           and compiler helpers that the input and output copies wake) runs at the same priority.
 *   'main'  the round trips: this main thread and the model both spin without sleeping (waitSync,
 *           the model's poll), so on a 2-core machine any other thread at FIFO 1 would wait behind
 *           them for the whole run; at normal priority V8's background compiler still gets the pause
 *           rtSamples makes after the warm-up, and RT throttling's share of each second.
 */
function fifo(pids, threads) {
  const chrt = (pid, on) =>
    execFileSync(
      'chrt',
      [...(threads === 'all' ? ['-a'] : []), ...(on ? ['-f', '-p', '1'] : ['-o', '-p', '0']), String(pid)],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  return {
    enter() {
      for (const pid of pids) {
        try {
          chrt(pid, true);
        } catch (err) {
          this.leave();
          throw new Error(
            `--rt: chrt on pid ${pid} failed (needs root or CAP_SYS_NICE, and chrt from util-linux): ` +
              `${err.stderr?.toString().trim() || err.message}`,
          );
        }
      }
    },
    leave() {
      for (const pid of pids)
        try {
          chrt(pid, false);
        } catch {
          // the process is gone: nothing to set back
        }
    },
  };
}

export async function run({ quick, rt = false }) {
  const reps = quick ? 3 : 7;
  // --quick: 16 MiB through the engines and 8 MiB over HTTP (figures say which); else 64 and 32 MiB
  const INPUT_BYTES = (quick ? 16 : 64) * MiB;
  const HTTP_INPUT_BYTES = (quick ? 8 : 32) * MiB; // 32 MiB: the jobs endpoint's input limit
  const pool = await startEmbedded({ adapters: 2, memoryBytes: 512 * MiB, log: pino({ level: 'silent' }) });
  const api = createApiServer(pool.grm, { tokens: new Map([['bench-token', 'bench']]), logger: false });
  const url = await api.listen({ port: 0, host: '127.0.0.1' });
  let inst;
  const out = [];
  try {
    const a = await pool.grm.allocate('bench', {
      resources: [
        { kind: 'memory', bytes: 192 * MiB },
        { kind: 'accelerator', function: 'aes-256-gcm' },
        { kind: 'accelerator', function: 'sha256' },
      ],
    });
    const granted = await pool.grm.grants('bench', a.id);
    const [memP, aesP, shaP] = granted.resources.map((r) => r.placements[0]);
    inst = Instance.open(granted, { pollUs: 10_000, spinUs: 50, timeoutMs: 120_000 });
    const mem = inst.map(memP);
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const input = randomBytes(INPUT_BYTES);
    for (const f of [
      { name: 'access.aes256gcm_gbps', fn: 'aes-256-gcm', engine: aesP, ref: (x) => aes256gcm(key, iv, x) },
      {
        name: 'access.sha256_gbps',
        fn: 'sha256',
        engine: shaP,
        ref: (x) => createHash('sha256').update(x).digest(),
      },
    ]) {
      const aes = f.fn === 'aes-256-gcm';
      const store = () => {
        // in: the key block (aes, ra-spec §12.1 DESC_F_INLINE_KEY) and the input, stored into the slice
        if (aes) mem.bytes.set(key, 0);
        mem.bytes.set(input, aes ? 32 : 0);
      };
      const job = () =>
        inst.job(
          f.engine,
          { ...memP, offset: 0 },
          { ...memP, offset: OUT_OFFSET },
          INPUT_BYTES + (aes ? 32 : 0),
          aes ? { params: iv, inlineKey: true } : {},
        );
      // the output copied out of the slice into one buffer of the instance's, allocated (and its pages
      // touched) once: a fresh 64 MiB Buffer per job would time this VM's first-touch page faults
      const outCopy = Buffer.alloc(INPUT_BYTES + 16);
      const output = (done) => {
        outCopy.set(mem.bytes.subarray(OUT_OFFSET, OUT_OFFSET + done.outBytes));
        return outCopy.subarray(0, done.outBytes);
      };
      log(`${f.fn}: direct path`);
      store();
      if (!output(await job()).equals(f.ref(input)))
        throw new Error(`${f.fn} on the direct path differs from node:crypto`);
      const sched = rt ? fifo([process.pid, pool.model.pid], 'all') : undefined;
      sched?.enter();
      let directGbps;
      let endToEndGbps;
      let engineGbps;
      try {
        directGbps = await samples(reps, async () => {
          const t0 = process.hrtime.bigint();
          await job();
          return INPUT_BYTES / Number(process.hrtime.bigint() - t0);
        });
        endToEndGbps = await samples(reps, async () => {
          const t0 = process.hrtime.bigint();
          store();
          output(await job());
          return INPUT_BYTES / Number(process.hrtime.bigint() - t0);
        });
        log(`${f.fn}: engine in one C process${rt ? ' (SCHED_FIFO 1 too)' : ''}`);
        engineGbps = median(cReference('engine', f.fn, INPUT_BYTES, reps));
      } finally {
        sched?.leave();
      }
      log(`${f.fn}: HTTP jobs endpoint`);
      const httpInput = input.subarray(0, HTTP_INPUT_BYTES);
      const body = JSON.stringify({
        function: f.fn,
        ...(aes ? { params: { key: key.toString('hex'), iv: iv.toString('hex') } } : {}),
        input: httpInput.toString('base64'),
      });
      const http = async () => {
        const res = await fetch(`${url}/v1/allocations/${a.id}/jobs`, {
          method: 'POST',
          headers: { authorization: 'Bearer bench-token', 'content-type': 'application/json' },
          body,
        });
        if (!res.ok)
          throw new Error(`jobs endpoint answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
        return Buffer.from((await res.json()).output, 'base64');
      };
      if (!(await http()).equals(f.ref(httpInput)))
        throw new Error(`${f.fn} over HTTP differs from node:crypto`);
      const httpGbps = await samples(reps, async () => {
        const t0 = process.hrtime.bigint();
        await http();
        return HTTP_INPUT_BYTES / Number(process.hrtime.bigint() - t0);
      });
      const engineRef = "the model's engine in one C process (ra-bench engine)";
      out.push(
        result(`${f.name}.direct`, median(directGbps), 'GB/s', engineRef, engineGbps, {
          inputBytes: INPUT_BYTES,
          verified: true,
          rt,
          endToEndGbps: median(endToEndGbps),
          httpRatio: median(directGbps) / median(httpGbps),
        }),
        result(`${f.name}.http`, median(httpGbps), 'GB/s', engineRef, engineGbps, {
          inputBytes: HTTP_INPUT_BYTES,
          verified: true,
        }),
      );
    }

    log('load/store through the mapping, then the polled round trip');
    // load/store through the mapping: 32 MiB from one range of the slice to another
    const copyBytes = 32 * MiB;
    const count = quick ? 4 : 16;
    // The two sides take turns (rounds of reps samples each, each round warmed up), and in each round
    // both run on the same CPU (sameCpu): this VM's two vCPUs copy DRAM at different speeds, and which
    // is slower changes over minutes (ra-bench memcpy pinned by taskset, same file, same code: at
    // 03:35 vCPU 0 22-24 GB/s and vCPU 1 9-12 GB/s five times in a row; at 03:59 vCPU 1 as fast or
    // faster). Unpinned, the mapped copy and the forked C memcpy landed on either, which moved the
    // ratio between 0.5x and 2x. Both sides run the same libc memmove (the mapping is a non-shared
    // external ArrayBuffer; V8's TypedArray.prototype.set calls memmove for it: perf shows
    // __memmove_avx512_unaligned_erms).
    const g = inst.grant(memP).memory;
    const cpus = cpuList(process.pid);
    const rounds = MAPPED_ROUNDS_PER_CPU * Math.max(1, cpus?.length ?? 1);
    const byCpu = new Map();
    for (let round = 0; round < rounds; round++) {
      const cpu = cpus ? cpus[round % cpus.length] : undefined;
      // --rt: this main thread at SCHED_FIFO 1 for the round, and so the reference forked from it
      const sched = rt ? fifo([process.pid], 'main') : undefined;
      sched?.enter();
      let measured;
      try {
        measured = sameCpu(cpu, () => {
          // synchronous, warm-up first as samples() does: the pin holds for the whole round
          const copy = () => {
            const t0 = process.hrtime.bigint();
            for (let i = 0; i < count; i++) mem.bytes.set(mem.bytes.subarray(0, copyBytes), 64 * MiB);
            return (copyBytes * count) / Number(process.hrtime.bigint() - t0);
          };
          copy();
          const js = Array.from({ length: reps }, copy);
          // forked from this (pinned) main thread, the reference inherits its CPU
          const c = cReference('memcpy', g.path, g.base, g.path, g.base + 64 * MiB, copyBytes, count, reps);
          return { js, c };
        });
      } finally {
        sched?.leave();
      }
      const { js, c } = measured;
      const seen = byCpu.get(cpu) ?? { cpu: cpu ?? null, gbps: [], memcpyGbps: [] };
      seen.gbps.push(...js);
      seen.memcpyGbps.push(...c);
      byCpu.set(cpu, seen);
    }
    // Each side's figure: the mean over the CPUs of its median on each CPU (every CPU had as many
    // rounds). One median over every sample would fall between the two CPUs' speeds, on a side of
    // the gap that may differ for the two sides (measured: 1.18x with 1.01x and 1.08x on the CPUs).
    const perCpu = [...byCpu.values()].map((s) => ({
      cpu: s.cpu,
      gbps: median(s.gbps),
      memcpyGbps: median(s.memcpyGbps),
      ratio: median(s.gbps) / median(s.memcpyGbps),
    }));
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    out.push(
      result(
        'access.mapped_gbps',
        mean(perCpu.map((c) => c.gbps)),
        'GB/s',
        'C memcpy between the same two ranges, on the same CPU in the same round',
        mean(perCpu.map((c) => c.memcpyGbps)),
        {
          bytes: copyBytes,
          copiesPerSample: count,
          rounds,
          rt,
          pinned: Boolean(cpus),
          byCpu: perCpu,
        },
      ),
    );

    // polled round trip: one 1-byte fill at a time on the instance's window
    const w = inst.window(memP.adapter);
    const tiny = [{ op: 'fill', dst: inst.ref(memP), dstOffset: 0, bytes: 1, value: 0x5a }];
    const trips = quick ? 500 : 20_000;
    const rtt = await samples(reps, () => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < trips; i++) w.waitSync(w.post(tiny));
      return Number(process.hrtime.bigint() - t0) / trips / 1e3;
    });
    out.push(
      result(
        'access.poll_rtt_us_grm',
        median(rtt),
        'us',
        'C shared-memory spin ping-pong between two processes',
        median(cReference('spin', trips, reps)),
        {
          tripsPerSample: trips,
          pollUs: 10_000,
        },
      ),
    );
  } finally {
    inst?.close();
    await api.close();
    await pool.stop();
  }
  // after the pool stopped: its model spins on its own windows and would share the cores
  out.push(...(await bareRoundTrip(quick ? 500 : 20_000, reps, rt)));
  return out;
}

/**
 * --rt: samples with this process's main thread and `pids` at SCHED_FIFO 1 (fifo(), 'main'). The
 * warm-up runs so too, then the main thread sleeps 300 ms at normal priority: V8 optimizes hot code on
 * a background thread, which two SCHED_FIFO spinners on a 2-core machine would starve (the code would
 * stay in the interpreter, measured 2-3x slower).
 */
async function rtSamples(reps, pids, fn) {
  const all = fifo([process.pid, ...pids], 'main');
  const self = fifo([process.pid], 'main');
  all.enter();
  try {
    await fn();
    self.leave();
    await new Promise((r) => setTimeout(r, 300));
    self.enter();
    const out = [];
    for (let i = 0; i < reps; i++) out.push(await fn());
    return out;
  } finally {
    all.leave();
  }
}

/** A C reference (ra-bench) at SCHED_FIFO 1, like our side under --rt. */
function cReferenceRt(...args) {
  const out = execFileSync(
    'chrt',
    ['-f', '1', path.join(root, 'build/Release/ra-bench'), ...args.map(String)],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(out).samples;
}

/** access.mapped_gbps: rounds in which the mapped copy and C memcpy take turns, per CPU */
const MAPPED_ROUNDS_PER_CPU = 2;

/** The CPUs thread `tid` may run on (taskset -pc), or undefined without taskset. */
function cpuList(tid) {
  let text;
  try {
    text = execFileSync('taskset', ['-pc', String(tid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
  const list = text.slice(text.lastIndexOf(':') + 1).trim();
  const cpus = [];
  for (const part of list.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  return cpus.length > 0 && cpus.every(Number.isInteger) ? cpus : undefined;
}

/**
 * Runs the synchronous `fn` with this process's main thread pinned to `cpu` (taskset -p: that thread
 * only, so V8's helpers keep every core), then gives it back every CPU it had. undefined cpu: unpinned.
 */
function sameCpu(cpu, fn) {
  if (cpu === undefined) return fn();
  const all = cpuList(process.pid);
  execFileSync('taskset', ['-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
  try {
    return fn();
  } finally {
    execFileSync('taskset', ['-pc', all.join(','), String(process.pid)], { stdio: 'ignore' });
  }
}

/** access.irq_rtt_us: rounds in which the window's round trip and the C eventfd ping-pong take turns */
const IRQ_ROUNDS = 4;

const RT_NOTE = 'SCHED_FIFO 1 (chrt) for the model, this main thread and the C reference while measured';

/** The same round trip on a window of a model with nothing else running (no GRM, no agent). */
async function bareRoundTrip(trips, reps, rt) {
  const model = await ModelProcess.start({ adapters: 1, memoryBytes: 64 * MiB });
  const adapter = Adapter.open(model.uri(0));
  let w;
  try {
    const key = 0x5eedn;
    const slice = await new Slices(adapter).program({
      kind: 'memory',
      ownerKey: key,
      base: 0,
      length: 2 * MiB,
    });
    const port = adapter.identity.fabricId;
    const opened = await new TenantWindows(adapter).open(key, [{ port, slice }]);
    w = TenantWindow.open(opened.path, { pollUs: 10_000 });
    const tiny = [{ op: 'fill', dst: { port, slice }, dstOffset: 0, bytes: 1, value: 0x5a }];
    const pollTrip = (n) => () => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) w.waitSync(w.post(tiny));
      return Number(process.hrtime.bigint() - t0) / n / 1e3;
    };
    const rtt = await samples(reps, pollTrip(trips));
    const rtFigures = [];
    if (rt) {
      const rtTrips = 20_000; // ~30 ms a sample at 1.5 µs
      const rttRt = await rtSamples(reps, [model.pid], pollTrip(rtTrips));
      rtFigures.push(
        result(
          'access.poll_rtt_us.rt',
          median(rttRt),
          'us',
          'C shared-memory spin ping-pong between two processes, SCHED_FIFO 1 too',
          median(cReferenceRt('spin', rtTrips, reps)),
          { tripsPerSample: rtTrips, pollUs: 10_000, samples: rttRt, note: RT_NOTE },
        ),
      );
    }
    w.close();
    // the same window by interrupt (ra-spec §18.5): doorbell FIFO in, interrupt FIFO out, both asleep
    w = TenantWindow.open(opened.path, { completion: 'interrupt' });
    const irqTrip = (n) => async () => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await w.submit(tiny);
      return Number(process.hrtime.bigint() - t0) / n / 1e3;
    };
    const irqTrips = Math.min(trips, 5_000);
    // The window and the C eventfd ping-pong take turns in IRQ_ROUNDS rounds (reps samples each):
    // measured one block after the other, a neighbour's burst or where the scheduler put the two
    // processes moved the ratio between 1.3x and 2.1x from run to run on the shared machine.
    const irqTurns = await turns(
      IRQ_ROUNDS,
      () => samples(reps, irqTrip(irqTrips)),
      () => cReference('eventfd', irqTrips, reps),
    );
    if (rt) {
      const rtTrips = 1_000; // ~50 ms a sample: every FIFO run stays well under 2 s
      const irqRt = await turns(
        IRQ_ROUNDS,
        () => rtSamples(reps, [model.pid], irqTrip(rtTrips)),
        () => cReferenceRt('eventfd', rtTrips, reps),
      );
      rtFigures.push(
        result(
          'access.irq_rtt_us.rt',
          median(irqRt.ours),
          'us',
          'C eventfd ping-pong between two processes, SCHED_FIFO 1 too, the two taking turns',
          median(irqRt.reference),
          { tripsPerSample: rtTrips, rounds: IRQ_ROUNDS, roundRatios: irqRt.ratios, note: RT_NOTE },
        ),
      );
    }
    const irq = result(
      'access.irq_rtt_us',
      median(irqTurns.ours),
      'us',
      'C eventfd ping-pong between two processes, the two taking turns',
      median(irqTurns.reference),
      {
        tripsPerSample: irqTrips,
        rounds: IRQ_ROUNDS,
        roundRatios: irqTurns.ratios,
        note: 'one-byte fill, awaited on the event loop; the model sleeps in epoll',
      },
    );
    return [
      irq,
      result(
        'access.poll_rtt_us',
        median(rtt),
        'us',
        'C shared-memory spin ping-pong between two processes',
        median(cReference('spin', trips, reps)),
        {
          tripsPerSample: trips,
          pollUs: 10_000,
          note: 'a window of a model with no GRM or agent beside it',
        },
      ),
      ...rtFigures,
    ];
  } finally {
    w?.close();
    adapter.close();
    await model.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(root, 'scripts/bench/access.mjs')) {
  const results = await run({ quick: process.argv.includes('--quick'), rt: process.argv.includes('--rt') });
  process.stdout.write(`${JSON.stringify({ results }, null, 2)}\n`);
}
