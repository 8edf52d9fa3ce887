// A QEMU topology: which VMs ("servers") run, how many RAs each carries, and how big they are.
// One ra-model process serves every adapter of the topology (the fabric joins only the adapters of
// one process, ra-spec §8), so memory size and queue count are the same for all adapters; adapter
// `i` of the whole topology is the model's `ra<i>` (its socket, register file and memory file).
// Each adapter sits in its VM behind its own CXL host bridge and root port (qemu/README.md: one
// region per host bridge).

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
/** CXL HDM decoders work in 256 MiB units: memory sizes must be multiples of it. */
export const CXL_GRANULE_BYTES = 256 * MiB;
const MAX_ADAPTERS_PER_VM = 8;
const MAX_VMS = 16;
const MAX_QUEUES = 16;

export interface VmSpec {
  /** Letters, digits and '-': names the VM in logs, sockets and the serial log file. */
  name: string;
  /** vCPUs (TCG threads); 1 when two VMs share a 2-core host. */
  vcpus: number;
  /** Guest RAM. */
  memoryBytes: number;
  /** RAs in this VM. */
  adapters: number;
  /** Add a virtual IOMMU (intel-iommu) so the guest can use the vfio:// backend. */
  iommu: boolean;
}

export interface Topology {
  /** On-card memory of every adapter: a multiple of 256 MiB (the CXL region size). */
  adapterMemoryBytes: number;
  /** DMA queue pairs of every adapter; the ivshmem device gets 1 + queues MSI-X vectors. */
  queues: number;
  vms: VmSpec[];
}

/** One adapter placed in a VM: global index (ra<index> of the model) and its place in the VM. */
export interface PlacedAdapter {
  index: number;
  vm: string;
  /** 0-based position inside its VM: picks its host bridge, root port and PCI slot. */
  local: number;
}

export class TopologyError extends Error {
  override name = 'TopologyError';
}

const DEFAULTS = { vcpus: 1, memoryBytes: 1 * GiB, iommu: false };

/** Validates a parsed JSON topology and fills defaults; throws TopologyError naming the bad field. */
export function parseTopology(input: unknown): Topology {
  const fail = (msg: string): never => {
    throw new TopologyError(`topology: ${msg}`);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    fail('must be an object { adapterMemoryBytes, queues, vms: [...] }');
  const t = input as Record<string, unknown>;
  for (const k of Object.keys(t))
    if (!['adapterMemoryBytes', 'queues', 'vms'].includes(k))
      fail(`unknown field '${k}' (allowed: adapterMemoryBytes, queues, vms)`);
  const memory = t.adapterMemoryBytes ?? 256 * MiB;
  if (
    typeof memory !== 'number' ||
    !Number.isSafeInteger(memory) ||
    memory <= 0 ||
    memory % CXL_GRANULE_BYTES !== 0
  )
    fail(
      `adapterMemoryBytes must be a positive multiple of 256 MiB (${CXL_GRANULE_BYTES}), got ${String(memory)}`,
    );
  const queues = t.queues ?? 2;
  if (typeof queues !== 'number' || !Number.isInteger(queues) || queues < 1 || queues > MAX_QUEUES)
    fail(`queues must be an integer 1..${MAX_QUEUES}, got ${String(queues)}`);
  if (!Array.isArray(t.vms) || t.vms.length === 0 || t.vms.length > MAX_VMS)
    fail(`vms must be a list of 1..${MAX_VMS} VMs`);
  const names = new Set<string>();
  const vms = (t.vms as unknown[]).map((raw, i): VmSpec => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return fail(`vms[${i}] must be an object`);
    const v = raw as Record<string, unknown>;
    for (const k of Object.keys(v))
      if (!['name', 'vcpus', 'memoryBytes', 'adapters', 'iommu'].includes(k))
        fail(`vms[${i}]: unknown field '${k}' (allowed: name, vcpus, memoryBytes, adapters, iommu)`);
    const name = v.name;
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(name))
      fail(`vms[${i}].name must be 1-32 lowercase letters, digits or '-', got ${JSON.stringify(name)}`);
    if (names.has(name as string)) fail(`vms[${i}].name '${String(name)}' is used twice`);
    names.add(name as string);
    const vcpus = v.vcpus ?? DEFAULTS.vcpus;
    if (typeof vcpus !== 'number' || !Number.isInteger(vcpus) || vcpus < 1 || vcpus > 16)
      fail(`vms[${i}].vcpus must be an integer 1..16, got ${String(vcpus)}`);
    const mem = v.memoryBytes ?? DEFAULTS.memoryBytes;
    if (typeof mem !== 'number' || !Number.isSafeInteger(mem) || mem < 256 * MiB || mem % MiB !== 0)
      fail(`vms[${i}].memoryBytes must be a whole number of MiB, at least 256 MiB, got ${String(mem)}`);
    const adapters = v.adapters;
    if (
      typeof adapters !== 'number' ||
      !Number.isInteger(adapters) ||
      adapters < 0 ||
      adapters > MAX_ADAPTERS_PER_VM
    )
      fail(`vms[${i}].adapters must be an integer 0..${MAX_ADAPTERS_PER_VM}, got ${String(adapters)}`);
    const iommu = v.iommu ?? DEFAULTS.iommu;
    if (typeof iommu !== 'boolean') fail(`vms[${i}].iommu must be true or false`);
    return {
      name: name as string,
      vcpus: vcpus as number,
      memoryBytes: mem as number,
      adapters: adapters as number,
      iommu: iommu as boolean,
    };
  });
  const total = vms.reduce((n, v) => n + v.adapters, 0);
  if (total === 0) fail('no VM carries an adapter');
  if (total > 64) fail(`${total} adapters in all: one device model serves at most 64`);
  return { adapterMemoryBytes: memory as number, queues: queues as number, vms };
}

/** Every adapter of the topology in model order: VM by VM, in the order the VMs are listed. */
export function placeAdapters(t: Topology): PlacedAdapter[] {
  const out: PlacedAdapter[] = [];
  for (const vm of t.vms)
    for (let local = 0; local < vm.adapters; local++) out.push({ index: out.length, vm: vm.name, local });
  return out;
}
