// `rafabric demo`: the main job. A guided run on several servers — each an agent process with its own
// device model, the models joined by one fabric, a GRM reaching the agents over gRPC with mutual TLS —
// that exercises the whole stack and checks every result against an independent implementation
// (node:crypto, a TS matmul, the bytes written compared with the bytes read back).
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { openServerCatalog } from '../../bitstream/shipped.js';
import { log } from '../../common/log.js';
import { defragStep } from '../../grm/defrag-demo.js';
import { growBusyStep, shrinkIdleStep } from '../../grm/elastic/demo-steps.js';
import { reallocateOnce } from '../../grm/reallocator.js';
import type { Allocation } from '../../grm/types.js';
import { type ClusterGrm, startClusterGrm } from '../../modes/cluster.js';
import { type LocalAgents, startLocalAgents } from '../../modes/local-agents.js';
import { formatBytes, formatTable, printJson } from '../output.js';
import { parseInteger, parseSize } from '../parse.js';
import { readThroughGrant, useGrant, writeThroughGrant } from './demo-instance.js';

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

/** A computed check's verdict. */
const verdict = (ok: boolean): Step['check'] => (ok ? 'pass' : 'FAIL');

/** bin/rafabric.js of this package: what the agent processes run. */
const CLI = path.resolve(import.meta.dirname, '../../../bin/rafabric.js');
const MiB = 1024 * 1024;
const serverOf = (adapterId: string) => adapterId.slice(0, adapterId.indexOf('/'));

export async function runDemo(o: {
  servers: number;
  adaptersPerServer: number;
  memoryBytes: number;
  progress: (s: Step) => void;
}): Promise<Step[]> {
  const steps: Step[] = [];
  const work = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'rafabric-demo-'));
  const servers = Array.from({ length: o.servers }, (_, i) => `server${i + 1}`);
  // Every server is its own agent process with its own device model; the models share one fabric.
  let local: LocalAgents | undefined;
  let cluster: ClusterGrm | undefined;
  try {
    local = await startLocalAgents({
      dir: work,
      servers,
      adaptersPerServer: o.adaptersPerServer,
      memory: String(o.memoryBytes),
      cli: CLI,
    });
    cluster = await startClusterGrm({
      agents: local.agents.map((a) => ({ server: a.server, address: a.address })),
      certsDir: local.certsDir,
      log: log.child({}, { level: 'warn' }),
      // The demo is a development setting: it trusts the package's development key, as serve does
      // only with --trust-dev-key.
      catalog: openServerCatalog({ dir: path.join(work, 'bitstreams'), trustDevKey: true }),
    });
  } catch (err) {
    await cluster?.stop();
    await local?.stop();
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const grm = cluster.grm;
  const tenant = 'demo';
  const record = async (step: string, fn: () => Promise<Omit<Step, 'step' | 'ms'>>) => {
    const t0 = performance.now();
    const s = { step, ...(await fn()), ms: Math.round(performance.now() - t0) };
    steps.push(s);
    o.progress(s);
  };
  try {
    await record('pool: one agent process per server', async () => {
      const adapters = await grm.listAdapters();
      const memory = adapters.reduce((n, a) => n + a.memory.total, 0);
      const seen = new Set(adapters.map((a) => a.server));
      return {
        result: `${seen.size} servers (agents over gRPC + mTLS), ${adapters.length} adapters, ${formatBytes(memory)} memory, ${adapters.reduce((n, a) => n + a.computeUnits.total, 0)} compute units`,
        placements: adapters.map((a) => a.id).join(', '),
        check: verdict(seen.size === o.servers && adapters.length === o.servers * o.adaptersPerServer),
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
        check: verdict(ok),
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
        check: verdict(ok),
      };
    });
    let spread: Allocation | undefined;
    await record('memory spread over two servers', async () => {
      // More than one server's adapters hold: the allocation must take memory from another server.
      const bytes = o.adaptersPerServer * o.memoryBytes + Math.floor(o.memoryBytes / 2);
      // with an accelerator: the instance's grant (next step) runs a job on it over these bytes
      spread = await grm.allocate(tenant, {
        resources: [
          { kind: 'memory', bytes },
          { kind: 'accelerator', function: 'sha256' },
        ],
      });
      const placements = spread.resources[0]!.placements;
      const onServers = new Set(placements.map((p) => serverOf(p.adapter)));
      // Every placement is a slice in its adapter's registers (read through that server's agent).
      const views = await grm.listAdapters();
      const programmed = placements.every((p) =>
        views.some(
          (v) =>
            v.id === p.adapter &&
            v.slices.some((x) => x.entry === p.slice && x.base === p.offset && x.length === p.bytes),
        ),
      );
      return {
        result: `${formatBytes(bytes)} (more than one server holds) on ${placements.length} adapters of ${onServers.size} servers; every slice found in its adapter's slice table: ${programmed}`,
        placements: where(spread),
        check: verdict(onServers.size >= 2 && programmed),
      };
    });
    await record("DMA between adapters of two servers (fabric), through the instance's grant", async () => {
      // issue 13: the instance reaches its slices through its grant (tenant windows, mapped memory);
      // the GRM only hands the grant out and is off the data path
      const granted = await grm.grants(tenant, spread!.id);
      const u = await useGrant(granted, servers[0]!);
      // Its memory is needed by the next steps (a job stages its input on the compute slice's server).
      await grm.release(tenant, spread!.id);
      const ok = u.sameBytes && u.digestOk;
      return {
        result: `${formatBytes(u.bytes)} written through the mapping of ${u.from.adapter}#${u.from.slice}, copied to ${u.to.adapter} by ${u.from.adapter}'s DMA engine in ${u.copyMs.toFixed(1)} ms (${(u.bytes / MiB / (u.copyMs / 1000)).toFixed(0)} MiB/s); read back through the mapping of ${u.to.adapter} equals what was written, byte for byte: ${u.sameBytes}; sha256 on the accelerator ${u.engine.adapter} in ${u.jobMs.toFixed(1)} ms equals node:crypto: ${u.digestOk} (${u.digest.slice(0, 12)}...); grants revoked and released`,
        placements: `${u.from.adapter}#${u.from.slice} -> ${u.to.adapter}#${u.to.slice}`,
        check: verdict(ok),
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
        check: verdict(ok),
      };
    });
    // Reallocation driven by utilization (docs/realloc.md): the GRM acts, not the tenant; sizes are
    // read back from the adapters' slice tables.
    await record('reallocation: a busy elastic compute allocation grows by itself', async () => {
      const o = await growBusyStep(grm, tenant);
      return { result: o.result, placements: `${o.unitsBefore}u -> ${o.unitsAfter}u`, check: o.check };
    });
    await record('reallocation: an idle elastic allocation shrinks to its min', async () => {
      const o = await shrinkIdleStep(grm, tenant);
      return { result: o.result, placements: `${o.unitsBefore}u -> ${o.unitsAfter}u`, check: o.check };
    });
    await record('resize: a tenant grows its memory (migrates by DMA)', async () => {
      const small = await grm.allocate(tenant, { resources: [{ kind: 'memory', bytes: 64 * MiB }] });
      const before = where(small);
      const contents = randomBytes(4 * MiB);
      // through the tenant's grant; a resize revokes it, and the grant after it reaches the moved bytes
      const g = await grm.grants(tenant, small.id);
      writeThroughGrant(g, g.resources[0]!.placements[0]!, contents);
      const blocker = await grm.allocate(tenant, { resources: [{ kind: 'memory', bytes: 2 * MiB }] });
      const grown = await grm.resize(tenant, small.id, { resource: 0, bytes: 256 * MiB });
      const moved = where(grown) !== before;
      const placement = grown.resources[0]!.placements[0]!;
      const kept = readThroughGrant(await grm.grants(tenant, grown.id), placement, contents.length).equals(
        contents,
      );
      const size = grown.resources[0]!.placements.reduce((n, p) => n + (p.bytes ?? 0), 0);
      await grm.release(tenant, blocker.id);
      await grm.release(tenant, grown.id);
      return {
        result: `64 MiB -> ${formatBytes(size)} ${moved ? 'moved to a free extent' : 'in place'}; its contents read back unchanged: ${kept}; released`,
        placements: `${before} -> ${where(grown)}`,
        check: verdict(kept && size === 256 * MiB),
      };
    });
    await record(
      'reallocation: a fragmented pool admits a large memory request (live migration)',
      async () => {
        const o = await defragStep(grm, tenant, {
          // through the tenant's grants: a move revokes them, and the grant after it reaches the moved bytes
          write: async (a, p, data) => writeThroughGrant(await grm.grants(tenant, a.id), p, data),
          read: async (a, p, bytes) => readThroughGrant(await grm.grants(tenant, a.id), p, bytes),
        });
        return { result: o.result, placements: o.placements, check: o.check };
      },
    );
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
        check: verdict(reclaimed),
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
        check: verdict(clean),
      };
    });
  } finally {
    await cluster.stop();
    await local.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return steps;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job: a guided run on several servers (one agent process each, one fabric), every result checked (table, or --json)',
    )
    .option('--servers <n>', 'servers, each its own agent process and device model (2..8)', '2')
    .option('--adapters <n>', 'emulated adapters per server', '2')
    .option('--memory <bytes>', 'memory per adapter', '8G')
    .option('--json', 'machine-readable output')
    .action(async (o: { servers: string; adapters: string; memory: string; json?: boolean }) => {
      const steps = await runDemo({
        servers: parseInteger('--servers', o.servers, 2, 8),
        adaptersPerServer: parseInteger('--adapters', o.adapters, 1, 32),
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
