// GRM figures through the HTTP API of a real `rafabric serve --state` process (its own Node process,
// so the clients below do not share its event loop), 64 emulated adapters, durable commit:
//   grm.e2e_pairs_per_s, grm.e2e_p99_ms   64 clients each looping allocate + free; reference for the
//                                         rate: fdatasync/s on the disk that holds the journal
//   grm.migration_interference            p99 of an unrelated allocation while a PATCH grows a 1 GiB
//                                         memory allocation that must migrate (DMA copy), over the
//                                         p99 of the same allocation with nothing else in flight
// The journal lives in a folder on disk (os.tmpdir()), so every commit is a real fdatasync; the
// model's adapter memory (the emulated CXL.mem, not state) is linked to /dev/shm.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { grmClient } from './http-client.mjs';
import { elapsedMs, GiB, MiB, median, quantile, result, root } from './stats.mjs';

const ADAPTERS = 64;
const CLIENTS = 64;
const ADAPTER_MEMORY = 2 * GiB;
const MIGRATION_BYTES = GiB;

export async function run({ quick }) {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-bench-state-'));
  const modelDir = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/rafabric-bench-model-') : undefined;
  if (modelDir) symlinkSync(modelDir, path.join(stateDir, 'model'));
  const server = await startServe(stateDir);
  // serve stops its model on SIGTERM (--stop-model); should serve itself hang, the model it started goes by its pid
  const stopModel = () => {
    try {
      process.kill(Number(readFileSync(path.join(stateDir, 'model', 'ra-model.pid'), 'utf8')), 'SIGTERM');
    } catch {
      // already gone
    }
  };
  const api = grmClient(server.url, server.token, CLIENTS);
  try {
    const modelPid = () => Number(readFileSync(path.join(stateDir, 'model', 'ra-model.pid'), 'utf8'));
    // RAFABRIC_BENCH_GRM=e2e: the end-to-end figures only; =interference: the migration figure only
    // (profiling, comparing a change quickly).
    const only = process.env.RAFABRIC_BENCH_GRM;
    const e2e =
      only === 'interference'
        ? undefined
        : await endToEnd(api, quick, { serve: server.pid, model: modelPid() });
    const fsyncRate = e2e ? fdatasyncRate(stateDir, quick) : undefined;
    if (only === 'e2e') return e2eResults(e2e, fsyncRate);
    const interference = await migrationInterference(api, path.join(stateDir, 'model'), quick);
    return [
      ...(e2e ? e2eResults(e2e, fsyncRate) : []),
      result(
        'grm.migration_interference',
        interference.busyP99Ms,
        'ms',
        'p99 of the same allocation with no migration in flight',
        interference.idleP99Ms,
        {
          migrationBytes: MIGRATION_BYTES,
          migrations: interference.migrations,
          migrationMs: interference.migrationMs,
          samplesDuringMigration: interference.samplesDuringMigration,
          contentsVerified: true,
          note: `the PATCH took ${Math.round(interference.migrationMs)} ms; ${interference.samplesDuringMigration} allocation(s) during it; moved bytes checked`,
        },
      ),
    ];
  } finally {
    api.close();
    if (!(await server.stop())) stopModel();
    rmSync(stateDir, { recursive: true, force: true });
    if (modelDir) rmSync(modelDir, { recursive: true, force: true });
  }
}

function e2eResults(e2e, fsyncRate) {
  return [
    result('grm.e2e_pairs_per_s', e2e.pairsPerSec, 'pairs/s', 'fdatasync/s on the journal disk', fsyncRate, {
      clients: CLIENTS,
      adapters: ADAPTERS,
      windows: e2e.windows,
      windowMs: e2e.windowMs,
      cpuMsPerPair: e2e.cpuMsPerPair,
      coreShare: e2e.coreShare,
      note: `CPU ms per pair: ${Object.entries(e2e.cpuMsPerPair)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}; cores used: ${Object.entries(e2e.coreShare)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}`,
    }),
    result('grm.e2e_p99_ms', e2e.p99Ms, 'ms', null, null, {
      clients: CLIENTS,
      adapters: ADAPTERS,
      p50Ms: e2e.p50Ms,
      allocateP99Ms: e2e.allocateP99Ms,
      freeP99Ms: e2e.freeP99Ms,
      note: `p50 ${Math.round(e2e.p50Ms)} ms; p99 of the allocate alone ${Math.round(e2e.allocateP99Ms)} ms, of the free alone ${Math.round(e2e.freeP99Ms)} ms`,
    }),
  ];
}

/** `rafabric serve` on an ephemeral port; resolves with its URL once it listens. */
async function startServe(stateDir) {
  const token = randomBytes(16).toString('hex');
  // RAFABRIC_BENCH_PROFILE=<dir>: serve writes a CPU profile there when it stops (node --cpu-prof).
  const profileDir = process.env.RAFABRIC_BENCH_PROFILE;
  const child = spawn(
    process.execPath,
    [
      ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
      path.join(root, 'bin/rafabric.js'),
      'serve',
      '--emulate',
      String(ADAPTERS),
      '--memory',
      String(ADAPTER_MEMORY),
      '--port',
      '0',
      '--state',
      stateDir,
      '--stop-model', // with --state a graceful stop would leave the device model running
      '--tokens',
      `bench=${token}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAFABRIC_LOG: 'warn' } },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not listen within 60 s: ${stderr}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before it listened: ${stderr.trim()}`));
    });
  });
  return {
    url,
    token,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, 20_000);
      await exited;
      clearTimeout(timer);
      return !killed; // false: serve did not stop its model
    },
  };
}

const smallRequest = (i) =>
  i % 2 === 0 ? [{ kind: 'memory', bytes: 16 * MiB }] : [{ kind: 'compute', units: 1 }];

/**
 * 64 clients loop allocate + free. A window lasts at least `windowMs` and until it holds enough
 * pairs for a p99 (the pool may be slow); a pair counts in the window in which it completes.
 * Warm-up: every client completes one pair first. Median over windows.
 */
async function endToEnd(api, quick, pids) {
  const windowMs = quick ? 1500 : 5000;
  const windows = quick ? 3 : 5;
  const minPairs = quick ? 50 : 200;
  const capMs = 60_000;
  let window = { latenciesMs: [], allocateMs: [], freeMs: [] };
  let completed = 0;
  let stop = false;
  const worker = async (c) => {
    for (let i = c; !stop; i += CLIENTS) {
      const t0 = process.hrtime.bigint();
      const a = await api.allocate(smallRequest(i));
      const t1 = process.hrtime.bigint();
      await api.free(a.id);
      window.allocateMs.push(Number(t1 - t0) / 1e6);
      window.freeMs.push(elapsedMs(t1));
      window.latenciesMs.push(elapsedMs(t0));
      completed++;
    }
  };
  const workers = Array.from({ length: CLIENTS }, (_, c) => worker(c));
  const failed = Promise.all(workers);
  const until = async (done) => {
    while (!done()) await Promise.race([new Promise((resolve) => setTimeout(resolve, 50)), failed]);
  };
  const measured = [];
  try {
    const t0 = Date.now();
    await until(() => completed >= CLIENTS || Date.now() - t0 > capMs);
    for (let w = 0; w < windows; w++) {
      const started = process.hrtime.bigint();
      const cpuBefore = cpuMsOf(pids);
      window = { latenciesMs: [], allocateMs: [], freeMs: [] };
      const current = window;
      await until(() => {
        const ms = elapsedMs(started);
        return (ms >= windowMs && current.latenciesMs.length >= minPairs) || ms >= capMs;
      });
      window = { latenciesMs: [], allocateMs: [], freeMs: [] }; // later completions belong to no measured window
      const cpu = cpuMsOf(pids);
      for (const k of Object.keys(cpu)) cpu[k] -= cpuBefore[k];
      measured.push({
        pairs: current.latenciesMs.length,
        seconds: elapsedMs(started) / 1000,
        cpu,
        ...current,
      });
    }
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  return {
    windows,
    windowMs,
    pairsPerSec: median(measured.map((m) => m.pairs / m.seconds)),
    // Where the time goes: CPU ms per pair of each process, and what share of a core each used.
    cpuMsPerPair: Object.fromEntries(
      Object.keys(measured[0].cpu).map((k) => [k, median(measured.map((m) => m.cpu[k] / m.pairs))]),
    ),
    coreShare: Object.fromEntries(
      Object.keys(measured[0].cpu).map((k) => [k, median(measured.map((m) => m.cpu[k] / 1000 / m.seconds))]),
    ),
    p99Ms: median(measured.map((m) => quantile(m.latenciesMs, 0.99))),
    p50Ms: median(measured.map((m) => quantile(m.latenciesMs, 0.5))),
    // The two requests of a pair apart (same pairs, same windows): which one the pair's tail comes from.
    allocateP99Ms: median(measured.map((m) => quantile(m.allocateMs, 0.99))),
    freeP99Ms: median(measured.map((m) => quantile(m.freeMs, 0.99))),
  };
}

/** CPU ms (user + system) used so far by serve, the device model and this process (the clients). */
function cpuMsOf(pids) {
  const tickMs = 10; // /proc/<pid>/stat counts in USER_HZ = 100 ticks/s on Linux
  const ofPid = (pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) * tickMs; // utime, stime (fields 14, 15)
    } catch {
      return Number.NaN;
    }
  };
  const self = process.cpuUsage();
  return { serve: ofPid(pids.serve), model: ofPid(pids.model), clients: (self.user + self.system) / 1000 };
}

/** fdatasync/s of 4 KiB appends in `dir`: what bounds a commit that waits for its own sync. */
function fdatasyncRate(dir, quick) {
  const file = path.join(dir, 'fdatasync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  const rates = [];
  try {
    for (let r = 0; r < 3; r++) {
      let syncs = 0;
      const t0 = process.hrtime.bigint();
      while (elapsedMs(t0) < (quick ? 300 : 1000)) {
        writeSync(fd, block);
        fdatasyncSync(fd);
        syncs++;
      }
      rates.push(syncs / (elapsedMs(t0) / 1000));
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return median(rates);
}

/** Milliseconds of one allocate (then freed, untimed): the "unrelated allocation". */
async function allocateMs(api, i) {
  const t0 = process.hrtime.bigint();
  const a = await api.allocate(smallRequest(i));
  const ms = elapsedMs(t0);
  await api.free(a.id);
  return ms;
}

async function migrationInterference(api, modelDir, quick) {
  const idleSamples = quick ? 40 : 200;
  const migrations = quick ? 1 : 2;
  for (let i = 0; i < 5; i++) await allocateMs(api, i); // warm-up
  const idle = [];
  for (let i = 0; i < idleSamples; i++) idle.push(await allocateMs(api, i));
  const busyP99 = [];
  const migrationMs = [];
  let samplesDuringMigration = 0;
  for (let m = 0; m < migrations; m++) {
    const { target, fillers } = await blockedMemoryAllocation(api);
    try {
      const from = target.resources[0].placements[0];
      const pattern = writePattern(modelDir, from);
      const t0 = process.hrtime.bigint();
      let done = false;
      const resize = api.resize(target.id, { resource: 0, bytes: MIGRATION_BYTES + 2 * MiB }).finally(() => {
        done = true;
      });
      resize.catch(() => undefined); // awaited below; a sampler failure must not leave it unhandled
      const during = [];
      for (let i = 0; !done; i++) during.push(await allocateMs(api, i));
      const resized = await resize;
      migrationMs.push(elapsedMs(t0));
      const to = resized.resources[0].placements[0];
      if (to.adapter === from.adapter)
        throw new Error(`the resize of ${target.id} did not migrate (stayed on ${from.adapter})`);
      checkPattern(modelDir, to, pattern);
      busyP99.push(quantile(during, 0.99));
      samplesDuringMigration += during.length;
    } finally {
      for (const a of [target, ...fillers]) await api.free(a.id);
    }
  }
  return {
    idleP99Ms: quantile(idle, 0.99),
    busyP99Ms: median(busyP99),
    migrations,
    migrationMs: median(migrationMs),
    samplesDuringMigration,
  };
}

/**
 * A 1 GiB memory allocation whose adapter has no room after it, so growing it must migrate: fillers
 * of the adapter's remaining memory are allocated until one sits right after the target (the
 * placement is the RVL's choice; the loop checks it rather than assuming it).
 */
async function blockedMemoryAllocation(api) {
  const target = await api.allocate([{ kind: 'memory', bytes: MIGRATION_BYTES }]);
  const p = target.resources[0].placements[0];
  const fillers = [];
  try {
    for (let i = 0; i < ADAPTERS; i++) {
      const filler = await api.allocate([
        { kind: 'memory', bytes: ADAPTER_MEMORY - MIGRATION_BYTES - p.offset },
      ]);
      fillers.push(filler);
      const f = filler.resources[0].placements[0];
      if (f.adapter === p.adapter && f.offset === p.offset + p.bytes) return { target, fillers };
    }
  } catch (err) {
    for (const a of [target, ...fillers]) await api.free(a.id).catch(() => undefined);
    throw err;
  }
  for (const a of [target, ...fillers]) await api.free(a.id);
  throw new Error(`could not place memory right after ${p.adapter}@${p.offset}: no migration to measure`);
}

/** The adapter's memory file (the emulated CXL.mem behind adapter ".../raN"). */
const memoryFile = (modelDir, adapterId) => path.join(modelDir, `ra${/ra(\d+)$/.exec(adapterId)[1]}.mem`);

const CHUNK_BYTES = 64 * MiB;

/** Fills the slice with one distinct byte per 64 MiB chunk, so a copy to a wrong offset shows. */
function writePattern(modelDir, placement) {
  const fd = openSync(memoryFile(modelDir, placement.adapter), 'r+');
  const seed = randomBytes(1)[0];
  try {
    for (let at = 0; at < placement.bytes; at += CHUNK_BYTES) {
      writeSync(
        fd,
        Buffer.alloc(CHUNK_BYTES, (seed + at / CHUNK_BYTES) & 0xff),
        0,
        CHUNK_BYTES,
        placement.offset + at,
      );
    }
  } finally {
    closeSync(fd);
  }
  return seed;
}

/** Reads the first and last 4 KiB of every chunk at the slice's new home. */
function checkPattern(modelDir, placement, seed) {
  const fd = openSync(memoryFile(modelDir, placement.adapter), 'r');
  const probe = Buffer.alloc(4096);
  try {
    for (let at = 0; at < MIGRATION_BYTES; at += CHUNK_BYTES) {
      const want = (seed + at / CHUNK_BYTES) & 0xff;
      for (const off of [at, at + CHUNK_BYTES - probe.length]) {
        readSync(fd, probe, 0, probe.length, placement.offset + off);
        if (probe.some((b) => b !== want))
          throw new Error(
            `migrated contents differ at byte ${off} of ${placement.adapter}@${placement.offset}`,
          );
      }
    }
  } finally {
    closeSync(fd);
  }
}
