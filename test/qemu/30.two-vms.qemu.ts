// npm run test:qemu: the QEMU cluster. Two VMs (1 vCPU each, TCG) are two servers: `rafabric agent
// --qemu-guest` runs in each (vm-a through vfio behind a virtual IOMMU, vm-b through pci), one device
// model per VM on the host, the models joined by a fabric directory (ra-spec §8.9.1), and the GRM on
// the host dials each agent through QEMU's user networking (startQemuPool, what `serve --qemu` runs).
// Every result is checked from the host's own side: the adapters' registers (a host shm:// client on
// each model) and their memory files, and the job output against node:crypto.
// Needs qemu/setup.sh (as root) and `npm run build`; serial logs are kept on failure (path printed).
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import type { Allocation } from '../../src/grm/types.js';
import { modelFiles } from '../../src/modes/qemu/attach.js';
import { type QemuPool, startQemuPool } from '../../src/modes/qemu/pool.js';
import { MiB, parseTopology } from '../../src/modes/qemu/topology.js';
import { Prng } from '../helpers/prng.js';
import { MAX_PACE_FACTOR, serialTails, TcgPace } from './tcg-pace.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const MEMORY_BYTES = 160 * MiB; // two of these never fit one 256 MiB adapter: one lands on each VM
const INSTANCE_BYTES = 1 * MiB; // written through /dev/dax at ~35 MB/s (TCG CXL path)
const JOB_INPUT_BYTES = 64 * 1024;
const TENANT = 'alice';
/** Both VMs booted together, QEMU's start to agent ready, on the shared 2-core machine when quiet. */
const QUIET_BOOT_TO_AGENT_MS = 20_000;
/** A boot's bound: the pace is not known before the first boot (465 s was measured under load). */
const BOOT_TIMEOUT_MS = 900_000;
/** The bound of each test: its waits at the slowest pace, a reboot and some margin. */
const TEST_TIMEOUT_MS = 2 * BOOT_TIMEOUT_MS;

function pattern(seed: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0, off = 0; off < bytes; i++, off += 32)
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

/** Bytes of an adapter's memory, read from the model's memory file (the adapter's own memory). */
function readMemory(modelDir: string, local: number, offset: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  const fd = openSync(modelFiles(modelDir, local).memoryPath, 'r');
  try {
    readSync(fd, out, 0, bytes, offset);
  } finally {
    closeSync(fd);
  }
  return out;
}

async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('QEMU: two VMs are two servers of one pool', () => {
  const started = Date.now();
  const workDir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'rafabric-qemu-2vm-'));
  const requests = (vm: string) => path.join(workDir, 'requests', vm);
  let pool: QemuPool | undefined;
  let failed = false;
  /** Host clients on each model's adapter (registers as the adapter shows them). */
  const host = new Map<string, Adapter>();
  const prng = new Prng(0x2f3a);
  /** Set from the first boot: later bounds follow this run's pace (tcg-pace.ts). */
  let pace = TcgPace.fromMeasured(MAX_PACE_FACTOR, 1);

  beforeAll(async () => {
    for (const vm of ['vm-a', 'vm-b']) mkdirSync(requests(vm), { recursive: true });
    const runner = path.join(repo, 'test', 'qemu', 'guest', 'instance-runner.mjs');
    try {
      pool = await startQemuPool({
        topology: parseTopology({
          adapterMemoryBytes: 256 * MiB,
          queues: 2,
          vms: [
            { name: 'vm-a', adapters: 1, memoryBytes: 768 * MiB, iommu: true },
            { name: 'vm-b', adapters: 1, memoryBytes: 768 * MiB },
          ],
        }),
        workDir,
        log: pino({ level: 'info' }, pino.destination({ dest: path.join(workDir, 'grm.log'), sync: true })),
        // niced: on one TCG vCPU the agent's start must not share the CPU with the runner's
        guestSidecar: (vm) => `nice -n 19 ${process.execPath} ${runner} ${requests(vm)}`,
        reallocateEveryMs: 2000, // each tick asks both guests for their inventory: spare their vCPUs
        bootTimeoutMs: BOOT_TIMEOUT_MS,
      });
    } catch (err) {
      failed = true;
      throw err;
    }
    for (const vm of ['vm-a', 'vm-b']) host.set(vm, Adapter.open(pool.models.get(vm)!.uri(0)));
    // The instance runners start beside the agents (niced): wait until they have loaded.
    pace = TcgPace.fromMeasured(Math.max(...pool.bootToAgentMs.values()), QUIET_BOOT_TO_AGENT_MS);
    console.log(
      `QEMU cluster: boot to agent ready ${JSON.stringify(Object.fromEntries(pool.bootToAgentMs))} ms (pace x${pace.factor.toFixed(1)})`,
    );
    // The instance runners start beside the agents (niced): wait until they have loaded.
    await until("the guests' instance runners", pace.ms(60_000), () =>
      existsSync(path.join(requests('vm-b'), 'ready')) ? true : undefined,
    );
  }, BOOT_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    for (const a of host.values()) a.close();
    await pool?.stop();
    console.log(`QEMU two-VM test: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
    if (failed)
      console.log(
        `QEMU two-VM test failed: serial logs in ${path.join(workDir, 'logs')}, GRM log ${path.join(workDir, 'grm.log')}\n${serialTails(pool?.serialLogs() ?? [])}`,
      );
    else rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  const p = () => pool!;
  const fabricPort = (vm: string) => host.get(vm)!.identity.fabricId;
  const adapterOf = (vm: string) => `${vm}/ra${fabricPort(vm)}`;

  /** Asks vm's instance runner to write `bytes` of pattern(seed) at `offset` of its adapter memory. */
  async function instanceWrite(vm: string, offset: number, bytes: number, seed: string) {
    const name = `w-${seed}`;
    const serial = host.get(vm)!.identity.serial;
    writeFileSync(
      path.join(requests(vm), `${name}.json.tmp`),
      JSON.stringify({ serial, offsetBytes: offset, bytes, seed }),
    );
    // renamed into place: the runner never reads half a request
    renameSync(path.join(requests(vm), `${name}.json.tmp`), path.join(requests(vm), `${name}.json`));
    const done = path.join(requests(vm), `${name}.done.json`);
    await until(`${vm}'s instance to answer ${name}`, pace.ms(30_000), () =>
      existsSync(done) ? true : undefined,
    );
    return JSON.parse(readFileSync(done, 'utf8')) as { ok: boolean; error?: string; dax?: string };
  }

  it(
    'accelerator on vm-a, memory on both; instance writes through /dev/dax; fabric DMA vm-b -> vm-a; job verified; all freed',
    async () => {
      onTestFailed(() => {
        failed = true;
      });
      // The GRM reads both guests' registers through their agents (a first call may retry under load).
      const adapters = await until('both adapters listed', pace.ms(20_000), async () => {
        const list = await p().grm.listAdapters();
        return list.length === 2 ? list : undefined;
      });
      console.log(`adapters: ${JSON.stringify(adapters.map((x) => [x.id, x.health]))}`);
      expect(adapters.map((a) => [a.id, a.health]).sort()).toEqual([
        [adapterOf('vm-a'), 'healthy'],
        [adapterOf('vm-b'), 'healthy'],
      ]);
      // One allocation over both servers: the owner key is the allocation's, so the fabric copy
      // between its two memory slices passes the adapters' key checks (ra-spec §8.7 check 6).
      const a: Allocation = await p().grm.allocate(TENANT, {
        resources: [
          { kind: 'accelerator', function: 'sha256' },
          { kind: 'memory', bytes: MEMORY_BYTES },
          { kind: 'memory', bytes: MEMORY_BYTES },
        ],
        policy: { sameServer: 'vm-a', allowSplit: false },
      });
      const engine = a.resources[0]!.placements[0]!;
      expect(engine.adapter).toBe(adapterOf('vm-a'));
      const memory = a.resources.slice(1).map((r) => r.placements[0]!);
      const onA = memory.find((m) => m.adapter === adapterOf('vm-a'))!;
      const onB = memory.find((m) => m.adapter === adapterOf('vm-b'))!;
      expect(onA && onB).toBeTruthy();

      // The bitstream was loaded onto vm-a's adapter by its guest agent: the adapter's slot table.
      const shaSlot = new Slots(host.get('vm-a')!).list().find((s) => s.function === 'sha256');
      // loaded, and its context slice taken by this allocation ('busy': contexts in use, ra-spec §9)
      expect(shaSlot?.state).toBe('busy');
      expect(shaSlot?.contextsUsed).toBeGreaterThan(0);
      expect(engine.slot).toBe(shaSlot!.index);

      // An instance in vm-b maps its memory through /dev/dax and writes; the adapter's memory has it.
      const seed = `in-${prng.int(0, 2 ** 31)}`;
      const expected = pattern(seed, INSTANCE_BYTES);
      const w = await instanceWrite('vm-b', onB.offset!, INSTANCE_BYTES, seed);
      expect(w).toMatchObject({ ok: true });
      expect(readMemory(p().models.get('vm-b')!.dir, 0, onB.offset!, INSTANCE_BYTES).equals(expected)).toBe(
        true,
      );

      // vm-b's adapter moves the bytes to vm-a's adapter over the fabric (executed in vm-b's guest).
      const ownerKey = p().grm.allocations.get(a.id)!.ownerKey;
      await p()
        .agents.get('vm-b')!
        .call('copy', {
          srcAdapter: onB.adapter,
          srcEntry: onB.slice,
          srcOffset: 0,
          dstFabricPort: fabricPort('vm-a'),
          dstEntry: onA.slice,
          dstOffset: 0,
          bytes: INSTANCE_BYTES,
          ownerKey,
        });
      const arrived = readMemory(p().models.get('vm-a')!.dir, 0, onA.offset!, INSTANCE_BYTES);
      expect(arrived.equals(expected)).toBe(true);
      // counters are charged in each owner's slice table (ra-spec §8.9)
      expect(new Slices(host.get('vm-b')!).read(onB.slice).bytesMoved).toBe(INSTANCE_BYTES);
      expect(new Slices(host.get('vm-a')!).read(onA.slice).bytesMoved).toBe(INSTANCE_BYTES);

      // The job on vm-a's engine takes what arrived; output checked against node:crypto.
      const input = arrived.subarray(0, JOB_INPUT_BYTES);
      const { output } = await p().grm.runJob(TENANT, a.id, {
        function: 'sha256',
        input: input.toString('base64'),
      });
      expect(Buffer.from(output, 'base64').toString('hex')).toBe(
        createHash('sha256').update(input).digest('hex'),
      );
      expect(new Slices(host.get('vm-a')!).read(engine.slice).jobs).toBe(1);

      await p().grm.release(TENANT, a.id);
      // Freed: the registers (host side) and the guests' agents (their own register reads) agree.
      for (const vm of ['vm-a', 'vm-b']) {
        expect(new Slices(host.get(vm)!).inUse()).toEqual([]);
        const inv = await p()
          .agents.get(vm)!
          .call<{ adapters: { id: string; slices: unknown[] }[] }>('inventory');
        expect(inv.adapters.map((x) => [x.id, x.slices])).toEqual([[adapterOf(vm), []]]);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a VM killed in the middle of an allocation: its adapter is lost, nothing leaks, its agent rejoins',
    async () => {
      onTestFailed(() => {
        failed = true;
      });
      const agentA = p().agents.get('vm-a')!;
      const before = new Set(
        p()
          .grm.list(TENANT)
          .map((x) => x.id),
      );
      const instancesBefore = agentA.instances.length;
      const slicesA = new Slices(host.get('vm-a')!);
      // crc32c is not loaded yet: configuring it (slice programs and a bitstream load in vm-a) takes
      // long enough under TCG to kill the VM in the middle of it.
      const allocating = p()
        .grm.allocate(TENANT, {
          resources: [
            { kind: 'accelerator', function: 'crc32c' },
            { kind: 'memory', bytes: 64 * MiB },
          ],
          policy: { sameServer: 'vm-a', allowSplit: false },
        })
        .then(
          (x) => ({ ok: true as const, allocation: x }),
          (err: Error) => ({ ok: false as const, err }),
        );
      let settled: string | undefined;
      void allocating.then((o) => {
        settled = o.ok ? 'succeeded' : `failed: ${o.err.message}`;
      });
      await until('the allocation to program its first slice on vm-a', pace.ms(30_000), () => {
        // On an idle host the allocation can complete between two looks: then the VM dies after it
        // (the "configured just before" branch below); a failure before the kill is a real failure.
        if (settled === 'succeeded') return true;
        if (settled) throw new Error(`the allocation ${settled} before any slice appeared on vm-a`);
        return slicesA.inUse().length > 0 ? true : undefined;
      });
      await p().killVm('vm-a');
      const outcome = await allocating;
      if (outcome.ok) {
        // configured just before the kill: the reallocator marks it lost (policy onAdapterFailure: fail)
        await until('the allocation to be marked lost', pace.ms(60_000), () =>
          p().grm.get(TENANT, outcome.allocation.id).state === 'lost' ? true : undefined,
        );
      } else {
        expect(outcome.err.message).toMatch(/vm-a|unreachable|UNREACHABLE/i);
        expect(
          p()
            .grm.list(TENANT)
            .filter((x) => !before.has(x.id)),
        ).toEqual([]);
      }
      // the GRM's index marks vm-a's adapter unhealthy (its agent is unreachable; listAdapters then
      // omits it, as it cannot read its registers)
      await until('vm-a/ra0 marked unhealthy', pace.ms(60_000), () =>
        p().grm.health().unhealthy === 1 ? true : undefined,
      );
      // vm-b is untouched and still serves
      expect((await p().grm.listAdapters()).find((x) => x.id === adapterOf('vm-b'))?.health).toBe('healthy');

      const rebootMs = await p().startVm('vm-a');
      console.log(`vm-a rebooted: agent ready after ${rebootMs} ms`);
      expect(agentA.instances.length).toBe(instancesBefore + 1);
      await until('vm-a/ra0 healthy again', pace.ms(30_000), async () =>
        (await p().grm.listAdapters()).find((x) => x.id === adapterOf('vm-a'))?.health === 'healthy'
          ? true
          : undefined,
      );
      for (const x of p().grm.list(TENANT)) await p().grm.release(TENANT, x.id);
      // The slices the dead guest programmed are released by reconciliation once the agent is back.
      await until("vm-a's slice table to be clean", pace.ms(60_000), () =>
        slicesA.inUse().length === 0 ? true : undefined,
      );
      expect(new Slices(host.get('vm-b')!).inUse()).toEqual([]);
      // and the rejoined adapter serves a new allocation once the GRM's index has its fresh report (the
      // agent's watch stream; sameServer is only a preference, so the selector makes vm-a a must)
      let again: Awaited<ReturnType<ReturnType<typeof p>['grm']['allocate']>> | undefined;
      await until('an allocation on the rejoined vm-a', pace.ms(30_000), async () => {
        again = await p()
          .grm.allocate(TENANT, {
            resources: [{ kind: 'memory', bytes: 64 * MiB, selector: 'server == "vm-a"' }],
          })
          .catch(() => undefined);
        return again ? true : undefined;
      });
      expect(again!.resources[0]!.placements[0]!.adapter).toBe(adapterOf('vm-a'));
      await p().grm.release(TENANT, again!.id);
      expect(slicesA.inUse()).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
