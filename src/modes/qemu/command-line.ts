// One VM of a topology as a qemu-system-x86_64 command line (qemu/README.md explains each part).
//
// - TCG only (KVM does not boot Debian kernels on these hosts), with `-cpu max,hypervisor=off`:
//   the guest's CXL region commit fails while the CPU reports a hypervisor (README: workaround 2).
// - Each adapter = an ivshmem-doorbell device on the model's socket (BAR2 = register file, MSI-X
//   vectors = 1 + CAP_QUEUES, ra-spec §14.3) at a fixed PCI slot, plus a cxl-type3 volatile device
//   whose memory backend is the model's memory file for that adapter (shared, so the model's DMA
//   engine and the guest see the same bytes), behind its own CXL host bridge and root port, with a
//   fixed memory window. The cxl-type3 serial number is the adapter's REG_SERIAL: that is how the
//   guest pairs a register file with its CXL memory device.
// - No disk: the host root is shared read-only over virtio-9p, plus an optional read-write share.
import type { VmSpec } from './topology.js';
import { GiB, MiB } from './topology.js';

export const QEMU_EXECUTABLE = 'qemu-system-x86_64';
/** First PCI slot on pcie.0 for the ivshmem devices: adapter `local` is at 0000:00:(0x10+local).0. */
export const IVSHMEM_FIRST_SLOT = 0x10;
/** First bus number of the CXL host bridges; each bridge gets BUS_STRIDE numbers. */
const CXL_FIRST_BUS = 12;
const CXL_BUS_STRIDE = 8;
/** Fixed memory window per host bridge: at least this, and at least the adapter's memory. */
const CXL_MIN_WINDOW_BYTES = 4 * GiB;

export interface GuestImage {
  /** vmlinuz of the 6.12 guest kernel (qemu/setup.sh extracts it into the cache). */
  kernel: string;
  initrd: string;
  /** Host folder holding the guest kernel's modules (lib/modules of the extracted package). */
  modulesDir: string;
}

export interface AdapterAttachment {
  /** Position in the VM (0-based). */
  local: number;
  /** The model's ivshmem-server socket for this adapter (ra<i>.sock). */
  socketPath: string;
  /** The model's memory file for this adapter (ra<i>.mem). */
  memoryPath: string;
  memoryBytes: number;
  /** 1 + CAP_QUEUES. */
  vectors: number;
  /** The adapter's REG_SERIAL, given to the cxl-type3 device as its serial number. */
  serial: bigint;
}

export interface VmLaunchPlan {
  vm: VmSpec;
  adapters: AdapterAttachment[];
  guest: GuestImage;
  /** QMP socket (unix), for a clean quit if the guest does not power off by itself. */
  qmpSocket: string;
  /** Host folder the guest mounts read-write at the same path (results, logs). */
  sharedDir?: string;
  /** Host path of a shell script the guest runs before powering off; none: interactive shell. */
  script?: string;
  extraKernelArgs?: string[];
  /**
   * The guest agent's channel to the GRM: user-mode networking (no host interface, `restrict=on`: the
   * guest reaches nothing outside) with one forward, 127.0.0.1:hostPort on the host -> guestPort in
   * the guest (10.0.2.15). The GRM dials the agent there (qemu/README.md: why TCP).
   */
  agentForward?: { hostPort: number; guestPort: number };
}

/** The guest's address on QEMU's user-mode network (its built-in DHCP would hand out the same). */
export const GUEST_IP = '10.0.2.15';

/** PCI address of adapter `local`'s ivshmem device inside its guest. */
export function guestPciAddress(local: number): string {
  return `0000:00:${(IVSHMEM_FIRST_SLOT + local).toString(16).padStart(2, '0')}.0`;
}

const mib = (bytes: number): string => `${Math.ceil(bytes / MiB)}M`;

/** The guest kernel command line. */
export function kernelCommandLine(plan: VmLaunchPlan): string {
  // no_timer_check: under TCG on a loaded host the boot-time check of the IO-APIC timer can miss its
  // window, and with interrupt remapping (intel-iommu) the kernel then panics instead of carrying on.
  const args = [
    'console=ttyS0',
    'panic=-1',
    'quiet',
    'loglevel=4',
    'mitigations=off',
    'tsc=reliable',
    'no_timer_check',
  ];
  args.push(`rafabric.modules=${plan.guest.modulesDir}`);
  if (plan.sharedDir) args.push(`rafabric.share=${plan.sharedDir}`);
  if (plan.script) args.push(`rafabric.script=${plan.script}`);
  if (plan.vm.iommu) args.push('intel_iommu=on');
  args.push(...(plan.extraKernelArgs ?? []));
  for (const a of args)
    if (/\s/.test(a)) throw new Error(`kernel argument '${a}' contains white space (paths must not)`);
  return args.join(' ');
}

/** The QEMU arguments (without the executable) for one VM. */
export function qemuArgs(plan: VmLaunchPlan): string[] {
  const { vm } = plan;
  const hasCxl = plan.adapters.length > 0;
  const machine = ['q35', ...(hasCxl ? ['cxl=on'] : []), ...(vm.iommu ? ['kernel-irqchip=split'] : [])];
  // biome-ignore format: option/value pairs
  const args = [
    '-name', vm.name,
    '-machine', machine.join(','),
    '-accel', 'tcg,thread=multi,tb-size=256',
    '-cpu', 'max,hypervisor=off',
    '-smp', String(vm.vcpus),
    '-m', `${mib(vm.memoryBytes)},slots=8,maxmem=${mib(vm.memoryBytes + 4 * GiB)}`,
    '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', 'stdio',
    '-qmp', `unix:${plan.qmpSocket},server=on,wait=off`,
    '-kernel', plan.guest.kernel,
    '-initrd', plan.guest.initrd,
    '-append', kernelCommandLine(plan),
  ];
  // The IOMMU must exist before the devices it translates for.
  if (vm.iommu) args.push('-device', 'intel-iommu,intremap=on');
  // With cxl=on every other device needs an explicit bus (README: CXL topology).
  // biome-ignore format: option/value pairs
  args.push(
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot,bus=pcie.0',
  );
  if (plan.sharedDir) {
    // biome-ignore format: option/value pairs
    args.push(
      '-fsdev', `local,id=share,path=${plan.sharedDir},security_model=none,multidevs=remap`,
      '-device', 'virtio-9p-pci,fsdev=share,mount_tag=share,bus=pcie.0',
    );
  }
  if (plan.agentForward) {
    const { hostPort, guestPort } = plan.agentForward;
    // biome-ignore format: option/value pairs
    args.push(
      '-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${hostPort}-${GUEST_IP}:${guestPort}`,
      '-device', 'virtio-net-pci,netdev=net0,bus=pcie.0',
    );
  }
  for (const a of plan.adapters) args.push(...adapterArgs(a));
  if (hasCxl) args.push('-M', plan.adapters.map(fixedMemoryWindow).join(','));
  return args;
}

function adapterArgs(a: AdapterAttachment): string[] {
  const j = a.local;
  if (a.memoryBytes % (256 * MiB) !== 0)
    throw new Error(`adapter memory of ${a.memoryBytes} bytes is not a multiple of 256 MiB (CXL)`);
  const slot = (IVSHMEM_FIRST_SLOT + j).toString(16);
  // biome-ignore format: option/value pairs
  return [
    '-chardev', `socket,id=ra${j}-regs,path=${a.socketPath}`,
    '-device', `ivshmem-doorbell,id=ra${j},chardev=ra${j}-regs,vectors=${a.vectors},bus=pcie.0,addr=0x${slot}.0`,
    '-device', `pxb-cxl,id=cxl.${j},bus_nr=${CXL_FIRST_BUS + CXL_BUS_STRIDE * j},bus=pcie.0`,
    '-device', `cxl-rp,id=ra${j}-rp,port=0,bus=cxl.${j},chassis=${j},slot=${2 + j}`,
    '-object', `memory-backend-file,id=ra${j}-mem,share=on,mem-path=${a.memoryPath},size=${a.memoryBytes}`,
    '-device', `cxl-type3,id=ra${j}-cxl,bus=ra${j}-rp,volatile-memdev=ra${j}-mem,sn=${a.serial}`,
  ];
}

function fixedMemoryWindow(a: AdapterAttachment): string {
  const j = a.local;
  const windowBytes = Math.max(CXL_MIN_WINDOW_BYTES, a.memoryBytes);
  return `cxl-fmw.${j}.targets.0=cxl.${j},cxl-fmw.${j}.size=${mib(windowBytes)}`;
}
