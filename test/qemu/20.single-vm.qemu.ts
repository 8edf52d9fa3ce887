// npm run test:qemu: one VM (1 vCPU, TCG) with one RA served by a real ra-model on the host. The
// guest (host's node over 9p, test/qemu/guest/single-vm.mjs) opens the adapter through the pci
// backend, pairs it with its CXL memory, programs a memory slice, writes through /dev/dax and loads a
// bitstream; the host then checks the model's side: the memory file holds the bytes, and the
// adapter's own registers (read through a host shm:// client) show the slice and the slot.
// A second VM with a virtual IOMMU runs the same through the vfio backend (MSI-X interrupts).
// Needs qemu/setup.sh (as root) and `npm run build`; serial logs are kept on failure.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { ModelProcess } from '../../src/driver/model-process.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { modelFiles } from '../../src/modes/qemu/attach.js';
import { bundleForGuest } from '../../src/modes/qemu/bundle-for-guest.js';
import { planVms } from '../../src/modes/qemu/plan.js';
import { MiB, parseTopology } from '../../src/modes/qemu/topology.js';
import { findGuestImage, QemuVm } from '../../src/modes/qemu/vm.js';
import { Prng } from '../helpers/prng.js';
import { MAX_PACE_FACTOR, serialTails, TcgPace } from './tcg-pace.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
/** Kernel and init to the guest's shell: seconds on a quiet machine, minutes under load. */
const BOOT_TIMEOUT_MS = 300_000;
/** The same on a quiet machine (reference probe: 3-5 s): how this run's pace is measured. */
const QUIET_SHELL_UP_MS = 5_000;
/** The guest script (node's start over 9p, CXL region, RA operations) on a quiet machine, generously. */
const GUEST_SCRIPT_QUIET_MS = 60_000;
/** Each test's bound in vitest: above every bound inside it at the slowest pace. */
const TEST_TIMEOUT_MS = BOOT_TIMEOUT_MS + GUEST_SCRIPT_QUIET_MS * MAX_PACE_FACTOR + 120_000;
const SLICE_BYTES = 2 * MiB;
const DESCRIPTOR = path.join(repo, 'bitstreams', 'crc32c.rabit.json');
/** How long the vfio guest waits for queued MSI-X messages it has not read yet (normally none). */
const INTERRUPT_WAIT_MS = 30_000;

/** The guest's pattern, computed independently here (SHA-256 counter mode over the seed). */
function pattern(seed: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0, off = 0; off < bytes; i++, off += 32)
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

interface GuestResult {
  steps: Record<string, number>;
  bdfs: string[];
  vfioError?: string | null;
  identity: { serial: string; memoryBytes: number; slots: number; queues: number; peerId: number };
  region: { memdev: string; region: string; dax: string; dpaOffsetBytes: number; bytes: number };
  writtenSha256: string;
  misalignedError: string | null;
  /** MSI-X messages the driver's own waits read; 0 when every command was done at the first look. */
  interruptsDuringWaits: number;
  interruptsDelivered: number;
  loaded: { id: string; function: string; payloadSha256: string; slot: number };
}

interface Run {
  vm: QemuVm;
  result: GuestResult;
  bootToShellMs: number;
  totalMs: number;
  sliceIndex: number;
  sliceBaseBytes: number;
  ownerKey: bigint;
  slot: number;
  seed: string;
}

describe('QEMU: one VM, one adapter', () => {
  let model: ModelProcess;
  let host: Adapter;
  let workDir: string;
  /** test/qemu/guest/single-vm.mjs bundled into one file (src/modes/qemu/bundle-for-guest.ts). */
  let guestScript: string;
  let failed = false;
  const prng = new Prng(0x51e6);

  beforeAll(async () => {
    findGuestImage(); // a clear "run qemu/setup.sh" before anything starts
    workDir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-qemu-'));
    guestScript = path.join(workDir, 'single-vm.js');
    // The script imports the built dist/; written to the temp dir, it is told it sits in dist/bundle/
    // so that the code finds the package root (and the addon) from there.
    await bundleForGuest({
      entry: path.join(repo, 'test/qemu/guest/single-vm.mjs'),
      outfile: guestScript,
      runsAs: path.join(repo, 'dist', 'bundle', 'single-vm.js'),
    });
    model = await ModelProcess.start({ adapters: 1, memoryBytes: 256 * MiB, extraArgs: ['--queues', '2'] });
    host = Adapter.open(model.uri(0));
  });

  afterAll(async () => {
    host?.close();
    await model?.stop();
    if (failed) {
      const logs = readdirSync(workDir)
        .filter((f) => f.endsWith('.serial.log'))
        .map((f) => path.join(workDir, f));
      console.log(`QEMU test failed: serial logs and guest scripts kept in ${workDir}\n${serialTails(logs)}`);
    } else if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** Boots a VM for `backend`, runs the guest script, returns its report. */
  async function runVm(
    name: string,
    backend: 'pci' | 'vfio',
    slot: number,
    sliceIndex: number,
  ): Promise<Run> {
    const started = Date.now();
    const topology = parseTopology({
      adapterMemoryBytes: 256 * MiB,
      queues: 2,
      vms: [{ name, vcpus: 1, adapters: 1, iommu: backend === 'vfio' }],
    });
    const sliceBaseBytes = prng.int(1, 64) * SLICE_BYTES;
    const ownerKey = BigInt(prng.int(1, 2 ** 31)) * 2n + 1n;
    const seed = `${name}-${prng.int(0, 2 ** 31)}`;
    const args = {
      sliceIndex,
      backend,
      seed,
      sliceBaseBytes,
      sliceBytes: SLICE_BYTES,
      ownerKey: String(ownerKey),
      slot,
      descriptor: DESCRIPTOR,
      interruptWaitMs: INTERRUPT_WAIT_MS,
    };
    const script = path.join(workDir, `${name}.sh`);
    writeFileSync(
      script,
      [
        'echo "guest: shell up uptime=$(cut -d" " -f1 /proc/uptime)"',
        `exec node ${guestScript} '${JSON.stringify(args)}'`,
        '',
      ].join('\n'),
    );
    const [plan] = planVms(topology, {
      modelDir: model.dir,
      workDir,
      guest: findGuestImage(),
      scriptFor: () => script,
    });
    const vm = QemuVm.start(plan!, workDir);
    try {
      const shell = await vm.waitForLine(/^guest: shell up/, BOOT_TIMEOUT_MS);
      const pace = TcgPace.fromMeasured(shell.atMs, QUIET_SHELL_UP_MS);
      const line = await vm.waitForLine(/^RESULT /, pace.ms(GUEST_SCRIPT_QUIET_MS));
      await vm.waitForLine(/^rafabric-guest: script rc=0/, pace.ms(10_000));
      expect(await vm.stop(pace.ms(10_000))).toBe('powered-off');
      const result = JSON.parse(line.text.slice('RESULT '.length)) as GuestResult;
      const totalMs = Date.now() - started;
      console.log(
        `${name} (${backend}): boot to shell ${shell.atMs} ms, VM total ${totalMs} ms, interrupts delivered ${result.interruptsDelivered} (during waits ${result.interruptsDuringWaits}), guest steps ${JSON.stringify(result.steps)}`,
      );
      return {
        vm,
        result,
        bootToShellMs: shell.atMs,
        totalMs,
        sliceIndex,
        sliceBaseBytes,
        ownerKey,
        slot,
        seed,
      };
    } catch (err) {
      failed = true;
      await vm.stop();
      throw new Error(`${(err as Error).message}\n--- last serial lines of ${name}:\n${vm.tail(40)}`);
    }
  }

  /** What the host sees after the guest is gone: the model's memory file and registers. */
  function checkHostSide(run: Run): void {
    const { result } = run;
    // the guest found the adapter the host attached, with its identity
    expect(result.identity.serial).toBe(host.identity.serial);
    expect(result.identity.memoryBytes).toBe(host.identity.memoryBytes);
    expect(result.region.bytes).toBe(host.identity.memoryBytes);
    // a fresh memdev's only region starts at DPA 0: dax offset X is byte X of the model's memory
    expect(result.region.dpaOffsetBytes).toBe(0);
    // the bytes written through /dev/dax are in the model's memory file at the slice's offset
    const file = readFileSync(modelFiles(model.dir, 0).memoryPath);
    const expected = pattern(run.seed, SLICE_BYTES);
    const seen = file.subarray(run.sliceBaseBytes, run.sliceBaseBytes + SLICE_BYTES);
    expect(createHash('sha256').update(seen).digest('hex')).toBe(result.writtenSha256);
    expect(Buffer.compare(seen, expected)).toBe(0);
    // the slice the guest programmed, read from the adapter's own registers
    const slice = new Slices(host).read(run.sliceIndex);
    expect(slice).toMatchObject({
      state: 'active',
      kind: 'memory',
      base: run.sliceBaseBytes,
      length: SLICE_BYTES,
    });
    // Owner keys are write-only (ra-spec §10): the register reads 0 on every view. That the guest
    // programmed run.ownerKey is shown below: drain and release name it, and the adapter checks it.
    expect(slice.ownerKey).toBe(0n);
    // the slot the guest loaded, against the descriptor file
    const descriptor = JSON.parse(readFileSync(DESCRIPTOR, 'utf8')) as {
      function: string;
      image: { payloadSha256: string };
    };
    const slot = new Slots(host).read(run.slot);
    expect(slot).toMatchObject({
      state: 'ready',
      function: descriptor.function,
      imageHash: descriptor.image.payloadSha256,
    });
    expect(result.misalignedError).toMatch(/multiples of \d+ bytes/);
  }

  async function releaseSlice(run: Run): Promise<void> {
    const slices = new Slices(host);
    await slices.drain(run.sliceIndex, run.ownerKey);
    await slices.release(run.sliceIndex, run.ownerKey);
  }

  it('a VM that does not power off by itself is stopped over QMP (quit), serial log kept', async () => {
    onTestFailed(() => {
      failed = true;
    });
    const script = path.join(workDir, 'vm-idle.sh');
    writeFileSync(script, 'sleep 600\n');
    const [plan] = planVms(parseTopology({ vms: [{ name: 'vm-idle', adapters: 1 }] }), {
      modelDir: model.dir,
      workDir,
      guest: findGuestImage(),
      scriptFor: () => script,
    });
    const vm = QemuVm.start(plan!, workDir);
    const deadline = Date.now() + 60_000; // QEMU makes its QMP socket early; load delays that
    while (!existsSync(plan!.qmpSocket) && vm.running && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(vm.running).toBe(true);
    expect(await vm.stop()).toBe('quit');
    expect(vm.running).toBe(false);
    expect(existsSync(vm.serialLogPath)).toBe(true);
  });

  it(
    'pci backend: identity, CXL pairing, memory slice written through /dev/dax, bitstream loaded',
    async () => {
      onTestFailed(() => {
        failed = true;
      });
      const run = await runVm('vm-pci', 'pci', 1, 0);
      checkHostSide(run);
      expect(run.result.bdfs).toEqual(['0000:00:10.0']);
      expect(run.result.interruptsDelivered).toBe(0); // polled: sysfs resources carry no interrupts
      // no IOMMU in this VM: vfio:// is refused at once with a diagnostic
      expect(run.result.vfioError).toMatch(/no IOMMU group.*open pci:\/\//);
      await releaseSlice(run);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'vfio backend behind a virtual IOMMU: the same, with MSI-X interrupts delivered',
    async () => {
      onTestFailed(() => {
        failed = true;
      });
      const run = await runVm('vm-vfio', 'vfio', 2, 1);
      checkHostSide(run);
      // every admin command's completion raised an MSI-X message that reached the process through
      // the VFIO eventfd (during the driver's waits or read afterwards: see single-vm.mjs)
      expect(run.result.interruptsDelivered).toBeGreaterThan(0);
      await releaseSlice(run);
    },
    TEST_TIMEOUT_MS,
  );
});
