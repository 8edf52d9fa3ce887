// `rafabric demo`: the main job. A guided run on the embedded pool that exercises the whole stack and
// checks every result against an independent implementation (node:crypto, a TS matmul).
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { openServerCatalog } from '../../bitstream/shipped.js';
import { log } from '../../common/log.js';
import { reallocateOnce } from '../../grm/reallocator.js';
import type { Allocation } from '../../grm/types.js';
import { startEmbedded } from '../../modes/embedded.js';
import { formatBytes, formatTable, printJson } from '../output.js';
import { parseInteger, parseSize } from '../parse.js';

interface Step {
  step: string;
  result: string;
  placements: string;
  check: 'pass' | 'FAIL' | '-';
  ms: number;
}

const GiB = 1024 ** 3;
const where = (a: Allocation) =>
  a.resources
    .flatMap((r) =>
      r.placements.map(
        (p) =>
          `${p.adapter}#${p.slice}${p.bytes !== undefined ? ` ${formatBytes(p.bytes)}` : p.units !== undefined ? ` ${p.units}u` : ` slot${p.slot}`}`,
      ),
    )
    .join(', ');

/** f32 matmul in increasing-k order without FMA: the engine's contract (ra-spec §12). */
function matmulReference(m: number, n: number, k: number, a: Float32Array, b: Float32Array): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = Math.fround(acc + Math.fround(a[i * k + p]! * b[p * n + j]!));
      c[i * n + j] = acc;
    }
  return c;
}

export async function runDemo(o: {
  adapters: number;
  memoryBytes: number;
  progress: (s: Step) => void;
}): Promise<Step[]> {
  const steps: Step[] = [];
  const bitstreamsDir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-demo-bitstreams-'));
  const pool = await startEmbedded({
    adapters: o.adapters,
    memoryBytes: o.memoryBytes,
    log: log.child({}, { level: 'warn' }),
    // The demo is a development setting: it trusts the package's development key, as serve does
    // only with --trust-dev-key.
    catalog: openServerCatalog({ dir: bitstreamsDir, trustDevKey: true }),
  });
  const grm = pool.grm;
  const tenant = 'demo';
  const record = async (step: string, fn: () => Promise<Omit<Step, 'step' | 'ms'>>) => {
    const t0 = performance.now();
    const s = { step, ...(await fn()), ms: Math.round(performance.now() - t0) };
    steps.push(s);
    o.progress(s);
  };
  try {
    await record('pool', async () => {
      const adapters = await grm.listAdapters();
      const memory = adapters.reduce((n, a) => n + a.memory.total, 0);
      return {
        result: `${adapters.length} adapters, ${formatBytes(memory)} memory, ${adapters.reduce((n, a) => n + a.computeUnits.total, 0)} compute units`,
        placements: adapters.map((a) => a.id).join(', '),
        check: '-',
      };
    });
    let aes: Allocation | undefined;
    await record('accelerator aes-256-gcm + verified job', async () => {
      aes = await grm.allocate(tenant, { resources: [{ kind: 'accelerator', function: 'aes-256-gcm' }] });
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const input = randomBytes(1 << 20);
      const { output } = await grm.runJob(tenant, aes.id, {
        function: 'aes-256-gcm',
        params: { key: key.toString('hex'), iv: iv.toString('hex') },
        input: input.toString('base64'),
      });
      const c = createCipheriv('aes-256-gcm', key, iv);
      const expected = Buffer.concat([c.update(input), c.final(), c.getAuthTag()]);
      const ok = Buffer.from(output, 'base64').equals(expected);
      return {
        result: `1 MiB encrypted on the adapter; equals node:crypto: ${ok}`,
        placements: where(aes),
        check: ok ? 'pass' : 'FAIL',
      };
    });
    await record('sha256 on the same pool', async () => {
      const s = await grm.allocate(tenant, { resources: [{ kind: 'accelerator', function: 'sha256' }] });
      const input = randomBytes(300_000);
      const { output } = await grm.runJob(tenant, s.id, {
        function: 'sha256',
        input: input.toString('base64'),
      });
      const ok = Buffer.from(output, 'base64').equals(createHash('sha256').update(input).digest());
      await grm.release(tenant, s.id);
      return {
        result: `digest equals node:crypto: ${ok}; released`,
        placements: where(s),
        check: ok ? 'pass' : 'FAIL',
      };
    });
    let spread: Allocation | undefined;
    await record('memory spread across adapters', async () => {
      const bytes = Math.floor(o.memoryBytes * 1.5);
      spread = await grm.allocate(tenant, { resources: [{ kind: 'memory', bytes }] });
      const adapters = new Set(spread.resources[0]!.placements.map((p) => p.adapter));
      return {
        result: `${formatBytes(bytes)} (more than one adapter holds) on ${adapters.size} adapters`,
        placements: where(spread),
        check: adapters.size > 1 ? 'pass' : 'FAIL',
      };
    });
    await record('compute slice (GPU-core equivalent) + matmul', async () => {
      const c = await grm.allocate(tenant, { resources: [{ kind: 'compute', units: 2 }] });
      const [m, n, k] = [24, 16, 32];
      const a = Float32Array.from({ length: m * k }, () => Math.fround(Math.random() - 0.5));
      const b = Float32Array.from({ length: k * n }, () => Math.fround(Math.random() - 0.5));
      const input = Buffer.concat([Buffer.from(a.buffer), Buffer.from(b.buffer)]);
      const { output } = await grm.runJob(tenant, c.id, {
        function: 'matmul-f32',
        params: { m, n, k },
        input: input.toString('base64'),
      });
      const ok = Buffer.from(output, 'base64').equals(Buffer.from(matmulReference(m, n, k, a, b).buffer));
      await grm.release(tenant, c.id);
      return {
        result: `${m}x${k} by ${k}x${n} f32 equals the TS reference bit for bit: ${ok}; released`,
        placements: where(c),
        check: ok ? 'pass' : 'FAIL',
      };
    });
    await record('reallocation: grow a busy allocation (migrates by DMA)', async () => {
      const small = await grm.allocate(tenant, { resources: [{ kind: 'memory', bytes: 64 * 1024 * 1024 }] });
      const before = where(small);
      const blocker = await grm.allocate(tenant, { resources: [{ kind: 'memory', bytes: 2 * 1024 * 1024 }] });
      const grown = await grm.resize(tenant, small.id, { resource: 0, bytes: 256 * 1024 * 1024 });
      const moved = where(grown) !== before;
      await grm.release(tenant, blocker.id);
      await grm.release(tenant, grown.id);
      return {
        result: `64 MiB -> 256 MiB ${moved ? 'moved to a free extent' : 'in place'}; released`,
        placements: `${before} -> ${where(grown)}`,
        check: 'pass',
      };
    });
    await record('reallocation: reclaim an idle allocation', async () => {
      const idle = await grm.allocate(tenant, {
        resources: [{ kind: 'memory', bytes: GiB }],
        policy: { idleReclaimMs: 200 },
      });
      // The background loop (every second) or this pass may be the one that reclaims it: wait until
      // the allocation is gone, then check its slice is gone from the adapters' slice tables too.
      const gone = () => !grm.list(tenant).some((a) => a.id === idle.id);
      const deadline = Date.now() + 10_000;
      while (!gone() && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        await grm.exclusive(() => reallocateOnce(grm));
      }
      // Read back from the slice tables: the entry the allocation held must no longer hold its extent.
      const held = idle.resources[0]!.placements[0]!;
      const adapters = await grm.listAdapters();
      const sliceLeft = adapters.some(
        (a) =>
          a.id === held.adapter &&
          a.slices.some((s) => s.entry === held.slice && s.kind === 'memory' && s.base === held.offset),
      );
      const reclaimed = gone() && !sliceLeft;
      return {
        result: reclaimed
          ? 'unused for 200 ms: reclaimed by the reallocation loop; its slice is free on the adapter'
          : sliceLeft
            ? 'its slice is still programmed on the adapter'
            : 'not reclaimed within 10 s',
        placements: where(idle),
        check: reclaimed ? 'pass' : 'FAIL',
      };
    });
    await record('release everything', async () => {
      for (const a of grm.list(tenant)) await grm.release(tenant, a.id);
      const adapters = await grm.listAdapters();
      const clean = adapters.every((a) => a.memory.free === a.memory.total && a.slices.length === 0);
      return {
        result: clean
          ? 'every slice released and scrubbed; pool back to full capacity'
          : 'slices left behind',
        placements: '-',
        check: clean ? 'pass' : 'FAIL',
      };
    });
  } finally {
    await pool.stop();
    rmSync(bitstreamsDir, { recursive: true, force: true });
  }
  return steps;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('the main job: a guided run on an embedded pool, every result checked (table, or --json)')
    .option('--adapters <n>', 'emulated adapters', '4')
    .option('--memory <bytes>', 'memory per adapter', '8G')
    .option('--json', 'machine-readable output')
    .action(async (o: { adapters: string; memory: string; json?: boolean }) => {
      const steps = await runDemo({
        adapters: parseInteger('--adapters', o.adapters, 2, 64),
        memoryBytes: parseSize('--memory', o.memory),
        progress: (s) =>
          !o.json && process.stderr.write(`  ${s.check === 'FAIL' ? 'x' : '.'} ${s.step} (${s.ms} ms)\n`),
      });
      const failed = steps.filter((s) => s.check === 'FAIL').length;
      if (o.json) printJson({ ok: failed === 0, steps });
      else
        process.stdout.write(
          `\n${formatTable(
            ['step', 'result', 'placements', 'check', 'ms'],
            steps.map((s) => [s.step, s.result, s.placements, s.check, s.ms]),
          )}\n\n${failed === 0 ? 'demo: every check passed' : `demo: ${failed} check(s) FAILED`}\n`,
        );
      if (failed) process.exitCode = 1;
    });
}
