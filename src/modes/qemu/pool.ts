// QEMU mode, assembled (what `rafabric serve --qemu TOPOLOGY` runs): every VM of the topology is one
// server of the cluster. On the host: one device model per VM, all on one fabric directory (ra-spec
// §8.9.1, so a descriptor in one VM reaches another VM's adapter memory), the cluster's certificates,
// the VMs, and the GRM with a remote agent client per VM. In each guest: `rafabric agent
// --qemu-guest` (guest-agent.ts), reached through QEMU user networking on a 127.0.0.1 port.
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { makeClusterCerts } from '../../agent/rpc/certs.js';
import { RemoteAgentClient } from '../../agent/rpc/client.js';
import { readTls } from '../../agent/rpc/tls.js';
import type { Catalog } from '../../bitstream/catalog.js';
import { openServerCatalog } from '../../bitstream/shipped.js';
import { ModelProcess } from '../../driver/model-process.js';
import { Grm } from '../../grm/grm.js';
import { startReallocator } from '../../grm/reallocator.js';
import { reconcile, startReconciler } from '../../grm/reconcile.js';
import { JournalStore } from '../../store/journal-store.js';
import type { AllocationStore } from '../../store/store.js';
import { agentBundlePath } from './agent-bundle.js';
import type { GuestImage, VmLaunchPlan } from './command-line.js';
import { planVms } from './plan.js';
import { placeAdapters, type Topology } from './topology.js';
import { findGuestImage, QemuVm } from './vm.js';

/** The agent's port inside every guest (each guest has its own network). */
export const GUEST_AGENT_PORT = 7480;
const GRM_CERT_NAME = 'grm';
const KEEPALIVE_MS = 20_000;
const KEEPALIVE_TIMEOUT_MS = 60_000;
/**
 * The agent protocol's deadlines (10 s for register work) are for agents on real servers; a TCG
 * guest on a loaded 2-core host took longer than 10 s to answer an inventory (measured), and a
 * deadline missed there makes the GRM call a healthy agent unreachable.
 */
const TCG_DEADLINE_FACTOR = 6;
/** Boot, node's start over 9p and CXL region creation under TCG on a loaded host. */
const DEFAULT_BOOT_TIMEOUT_MS = 240_000;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface QemuPoolOptions {
  topology: Topology;
  /** Created if missing: certificates, models, fabric, guest scripts, serial logs, the store. */
  workDir: string;
  log: Logger;
  catalog?: Catalog;
  guest?: GuestImage;
  bootTimeoutMs?: number;
  /** Shell lines a guest runs in the background before its agent starts (tests: an instance runner). */
  guestSidecar?: (vm: string) => string | undefined;
  reallocateEveryMs?: number;
  operators?: ReadonlySet<string>;
}

export interface QemuPool {
  grm: Grm;
  topology: Topology;
  workDir: string;
  /** VM name -> its agent client (the GRM's). */
  agents: Map<string, RemoteAgentClient>;
  /** VM name -> the running VM (replaced when a VM is started again). */
  vms: Map<string, QemuVm>;
  models: Map<string, ModelProcess>;
  plans: Map<string, VmLaunchPlan>;
  /** VM name -> ms from QEMU's start to the agent answering Hello, for the last boot. */
  bootToAgentMs: Map<string, number>;
  /** Serial logs of every boot so far. */
  serialLogs(): string[];
  /** Kills a VM's QEMU (SIGKILL: a crash, no clean shutdown). The model and its adapters stay. */
  killVm(name: string): Promise<void>;
  /** Boots a VM again with the same plan; resolves when its agent answers (ms to that point). */
  startVm(name: string): Promise<number>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The guest's script: network, then the agent in the foreground (the VM powers off when it ends). */
function agentScript(o: {
  agentBundle: string;
  vm: string;
  adapters: number;
  backend: 'pci' | 'vfio';
  certsDir: string;
  /** The VM's key book folder in the read-write share: it outlives a reboot, as the adapter does. */
  keysDir: string;
  sidecar?: string | undefined;
}): string {
  return [
    'set -e',
    // No udev: the kernel names the one virtio-net interface eth0.
    'modprobe virtio_net',
    'ip link set lo up',
    'ip link set eth0 up',
    `ip addr add 10.0.2.15/24 dev eth0`,
    // epoch ms too: the agent's JSON log lines carry the same clock (where a boot's time goes).
    'echo "rafabric-guest: network up uptime=$(cut -d" " -f1 /proc/uptime) epoch=$(date +%s)"',
    ...(o.sidecar ? [`( ${o.sidecar} ) &`] : []),
    // the bundle: one file over 9p instead of the ~270 modules of bin/rafabric.js agent
    `export RAFABRIC_KEYS_DIR=${o.keysDir}`,
    `exec ${process.execPath} ${o.agentBundle} agent --qemu-guest ${o.backend} --server ${o.vm} --adapters ${o.adapters} ` +
      `--listen 0.0.0.0:${GUEST_AGENT_PORT} --certs ${o.certsDir}`,
    '',
  ].join('\n');
}

/** Waits until the agent answers Hello through its forwarded port, or the VM dies, or time runs out. */
async function waitForAgent(vm: QemuVm, client: RemoteAgentClient, timeoutMs: number): Promise<number> {
  await vm.waitForLine(/^agent \S+ listening on /, timeoutMs);
  const deadline = vm.startedAtMs + timeoutMs;
  for (;;) {
    try {
      // Ready = serving: Hello, then one inventory (the guest's first call is slow under TCG).
      await client.handshake();
      await client.call('inventory', {}, 60_000);
      return Date.now() - vm.startedAtMs;
    } catch (err) {
      if (!vm.running || Date.now() > deadline)
        throw new Error(
          `${vm.name}: agent does not answer at ${client.address}: ${(err as Error).message}; serial log ${vm.serialLogPath}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function startQemuPool(o: QemuPoolOptions): Promise<QemuPool> {
  const t = o.topology;
  for (const v of t.vms)
    if (v.adapters === 0)
      throw new Error(
        `topology: VM ${v.name} carries no adapter; in serve --qemu every VM is a server with adapters`,
      );
  const guest = o.guest ?? findGuestImage();
  const agentBundle = agentBundlePath(REPO_ROOT);
  const timeoutMs = o.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
  const dirs = {
    certs: path.join(o.workDir, 'certs'),
    fabric: path.join(o.workDir, 'fabric'),
    models: path.join(o.workDir, 'models'),
    logs: path.join(o.workDir, 'logs'),
    keys: path.join(o.workDir, 'keys'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  makeClusterCerts({ dir: dirs.certs, agents: t.vms.map((v) => v.name), grm: GRM_CERT_NAME });
  const grmTls = readTls(dirs.certs, GRM_CERT_NAME);

  const models = new Map<string, ModelProcess>();
  const vms = new Map<string, QemuVm>();
  const agents = new Map<string, RemoteAgentClient>();
  const bootToAgentMs = new Map<string, number>();
  const logs: string[] = [];
  let boots = 0;
  let store: AllocationStore | undefined;
  const stopLoops: (() => void)[] = [];

  const stopAll = async () => {
    for (const s of stopLoops.splice(0)) s();
    for (const c of agents.values()) c.close();
    await Promise.all([...vms.values()].map((vm) => vm.stop().catch(() => undefined)));
    await Promise.all([...models.values()].map((m) => m.stop().catch(() => undefined)));
    await store?.close();
  };

  try {
    // One model per VM (server), its adapters on fabric ports = their index in the topology.
    const placed = placeAdapters(t);
    for (const v of t.vms) {
      const first = placed.find((p) => p.vm === v.name)!.index;
      const modelDir = path.join(dirs.models, v.name);
      mkdirSync(modelDir);
      const model = await ModelProcess.start({
        adapters: v.adapters,
        dir: modelDir,
        memoryBytes: t.adapterMemoryBytes,
        fabricDir: dirs.fabric,
        fabricBase: first,
        extraArgs: ['--queues', String(t.queues)],
        dieWithParent: true,
      });
      models.set(v.name, model);
    }
    const ports = new Map<string, number>();
    for (const v of t.vms) ports.set(v.name, await freePort());
    for (const v of t.vms) {
      const script = path.join(o.workDir, `${v.name}.agent.sh`);
      mkdirSync(path.join(dirs.keys, v.name), { mode: 0o700 });
      writeFileSync(
        script,
        agentScript({
          agentBundle,
          vm: v.name,
          adapters: v.adapters,
          backend: v.iommu ? 'vfio' : 'pci',
          certsDir: dirs.certs,
          keysDir: path.join(dirs.keys, v.name),
          sidecar: o.guestSidecar?.(v.name),
        }),
      );
    }
    const plans = new Map(
      planVms(t, {
        modelDirOf: (vm) => path.join(dirs.models, vm),
        workDir: o.workDir,
        guest,
        scriptFor: (vm) => path.join(o.workDir, `${vm}.agent.sh`),
        agentForwardFor: (vm) => ({ hostPort: ports.get(vm)!, guestPort: GUEST_AGENT_PORT }),
      }).map((p) => [p.vm.name, p]),
    );
    for (const v of t.vms)
      agents.set(
        v.name,
        new RemoteAgentClient({
          server: v.name,
          address: `127.0.0.1:${ports.get(v.name)}`,
          tls: grmTls,
          grm: GRM_CERT_NAME,
          // A TCG guest on a loaded host can take seconds to answer a ping: 5 s and then 20 s
          // keepalive timeouts dropped healthy agents (measured), so the GRM waits longer.
          keepaliveMs: KEEPALIVE_MS,
          keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS,
          deadlineFactor: TCG_DEADLINE_FACTOR,
        }),
      );

    const boot = (name: string): QemuVm => {
      const logDir = path.join(dirs.logs, `boot-${++boots}`);
      mkdirSync(logDir, { recursive: true });
      const vm = QemuVm.start(plans.get(name)!, logDir);
      vms.set(name, vm);
      logs.push(vm.serialLogPath);
      return vm;
    };
    const ready = async (name: string): Promise<number> => {
      const ms = await waitForAgent(vms.get(name)!, agents.get(name)!, timeoutMs);
      bootToAgentMs.set(name, ms);
      o.log.info({ vm: name, bootToAgentMs: ms }, 'guest agent ready');
      return ms;
    };
    for (const v of t.vms) boot(v.name);
    await Promise.all(t.vms.map((v) => ready(v.name)));

    const catalog = o.catalog ?? openServerCatalog({ dir: path.join(o.workDir, 'bitstreams') });
    store = JournalStore.open(path.join(o.workDir, 'store'), { repair: false });
    const grm = new Grm({
      agents: [...agents.values()],
      store,
      catalog,
      log: o.log,
      ...(o.operators ? { operators: o.operators } : {}),
    });
    await grm.exclusive(() => reconcile(grm));
    const every = o.reallocateEveryMs ?? 1000;
    stopLoops.push(startReallocator(grm, every), startReconciler(grm, every));

    return {
      grm,
      topology: t,
      workDir: o.workDir,
      agents,
      vms,
      models,
      plans,
      bootToAgentMs,
      serialLogs: () => [...logs],
      async killVm(name) {
        const vm = vms.get(name);
        if (!vm) throw new Error(`no VM ${name}`);
        vm.child.kill('SIGKILL');
        await vm.waitForExit(10_000);
      },
      async startVm(name) {
        if (vms.get(name)?.running) throw new Error(`VM ${name} is running`);
        boot(name);
        return ready(name);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
