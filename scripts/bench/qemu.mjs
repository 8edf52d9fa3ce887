// QEMU mode (issue 14, qemu/README.md): figures reported, not compared. Under TCG QEMU's CXL path
// is functional, not fast (~35 MB/s), and nothing on this machine measures the same thing to set
// beside it, so both figures carry no reference.
//   qemu.boot_to_agent_s   `rafabric serve --qemu` with two VMs (1 vCPU; one adapter each, vm-a behind
//                          a virtual IOMMU): from the start of the pool to every guest agent ready,
//                          the slowest VM, as serve reports it when it starts listening
//   qemu.integration_s     the QEMU integration tests (`vitest.qemu.config.ts`, what `npm run test:qemu`
//                          runs after its build): wall time; --quick leaves it out (about 90 s)
// Needs `qemu/setup.sh` to have run; without it both names are listed as not measurable, with why.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { result, root } from './stats.mjs';

const CLI = path.join(root, 'bin/rafabric.js');
const TOPOLOGY = {
  vms: [
    { name: 'vm-a', adapters: 1, iommu: true },
    { name: 'vm-b', adapters: 1 },
  ],
};
// Under heavy load a TCG boot took up to ~500 s before the agent bundle; this bound only stops a hang.
const BOOT_BOUND_MS = 15 * 60_000;

/** Why the figures cannot be measured here, or null: the guest image and QEMU must be installed. */
export async function unavailable() {
  const vm = path.join(root, 'dist/modes/qemu/vm.js');
  if (!existsSync(vm)) return 'not built: run npm run build';
  const { findGuestImage } = await import(pathToFileURL(vm).href);
  try {
    findGuestImage();
  } catch (err) {
    return `QEMU mode not set up: ${err.message}`;
  }
  const qemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' });
  if (qemu.status !== 0) return 'qemu-system-x86_64 is not installed: run qemu/setup.sh';
  return null;
}

/** Starts `serve --qemu` on the two-VM topology; resolves with each VM's boot-to-agent-ready seconds. */
async function bootToAgentReady(dir) {
  const topology = path.join(dir, 'topology.json');
  writeFileSync(topology, JSON.stringify(TOPOLOGY));
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--qemu',
      topology,
      '--boot-timeout',
      String(BOOT_BOUND_MS / 1000),
      '--tokens',
      'bench=bench-token',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAFABRIC_LOG: 'error' } },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const line = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`serve --qemu not ready after ${BOOT_BOUND_MS} ms`)),
        BOOT_BOUND_MS,
      );
      child.stdout.on('data', (d) => {
        out += d;
        const m = /boot to agent ready: ([^;]*);/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve --qemu exited ${code} before it was ready: ${err.trim().slice(-2000)}`));
      });
    });
    const perVm = Object.fromEntries(
      [...line.matchAll(/([\w-]+) ([\d.]+) s/g)].map(([, vm, s]) => [vm, Number(s)]),
    );
    if (Object.keys(perVm).length !== TOPOLOGY.vms.length)
      throw new Error(`serve --qemu reported boots for ${line}, expected ${TOPOLOGY.vms.length} VMs`);
    return perVm;
  } finally {
    // SIGTERM: serve stops the API, the guests and the models, and removes its work folder.
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

/** The QEMU integration tests as `npm run test:qemu` runs them (already built): wall seconds. */
function integrationSeconds() {
  const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [vitest, 'run', '--config', 'vitest.qemu.config.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAFABRIC_LOG: 'error' },
    maxBuffer: 64 << 20,
  });
  const seconds = (Date.now() - t0) / 1000;
  if (r.status !== 0)
    throw new Error(
      `QEMU integration tests failed (exit ${r.status}): ${`${r.stdout}${r.stderr}`.slice(-3000)}`,
    );
  return seconds;
}

export async function run({ quick }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-bench-qemu-'));
  try {
    const boots = await bootToAgentReady(dir);
    const slowest = Math.max(...Object.values(boots));
    const note = Object.entries(boots)
      .map(([vm, s]) => `${vm} ${s} s`)
      .join(', ');
    const figures = [
      result('qemu.boot_to_agent_s', slowest, 's', null, null, {
        perVm: boots,
        loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
        note: `two VMs booted together under TCG: ${note}`,
      }),
    ];
    if (!quick)
      figures.push(
        result('qemu.integration_s', integrationSeconds(), 's', null, null, {
          note: 'vitest.qemu.config.ts: single-VM (pci, vfio) and two-VM files, VMs booted one file at a time',
        }),
      );
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
