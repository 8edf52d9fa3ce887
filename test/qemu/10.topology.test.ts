// Topology -> QEMU command line, without QEMU: validation, adapter placement, and the devices each
// adapter turns into (qemu/README.md). The expected strings are written out here by hand.
import { describe, expect, it } from 'vitest';
import {
  type AdapterAttachment,
  guestPciAddress,
  kernelCommandLine,
  qemuArgs,
  type VmLaunchPlan,
} from '../../src/modes/qemu/command-line.js';
import { GiB, MiB, parseTopology, placeAdapters, TopologyError } from '../../src/modes/qemu/topology.js';

const guest = {
  kernel: '/c/kernel/boot/vmlinuz-6.12',
  initrd: '/c/initramfs.cpio.gz',
  modulesDir: '/c/kernel/lib/modules',
};

function attachment(local: number, index: number): AdapterAttachment {
  return {
    local,
    socketPath: `/m/ra${index}.sock`,
    memoryPath: `/m/ra${index}.mem`,
    memoryBytes: 512 * MiB,
    vectors: 3,
    serial: 0x1234_5678_9abc_de00n + BigInt(index),
  };
}

function plan(over: Partial<VmLaunchPlan> = {}): VmLaunchPlan {
  return {
    vm: { name: 'vm-a', vcpus: 1, memoryBytes: GiB, adapters: 2, iommu: false },
    adapters: [attachment(0, 2), attachment(1, 3)],
    guest,
    qmpSocket: '/w/vm-a.qmp',
    sharedDir: '/w',
    script: '/w/vm-a.sh',
    ...over,
  };
}

/** The values of every occurrence of `flag` in args. */
const values = (args: string[], flag: string): string[] =>
  args.flatMap((a, i) => (a === flag && args[i + 1] !== undefined ? [args[i + 1] as string] : []));

describe('topology validation', () => {
  it('fills defaults and places adapters VM by VM in model order', () => {
    const t = parseTopology({
      vms: [
        { name: 'a', adapters: 2 },
        { name: 'b', adapters: 1, iommu: true },
      ],
    });
    expect(t.adapterMemoryBytes).toBe(256 * MiB);
    expect(t.queues).toBe(2);
    expect(t.vms[0]).toEqual({ name: 'a', vcpus: 1, memoryBytes: GiB, adapters: 2, iommu: false });
    expect(placeAdapters(t)).toEqual([
      { index: 0, vm: 'a', local: 0 },
      { index: 1, vm: 'a', local: 1 },
      { index: 2, vm: 'b', local: 0 },
    ]);
  });

  it.each([
    [{ adapterMemoryBytes: 300 * MiB, vms: [{ name: 'a', adapters: 1 }] }, /multiple of 256 MiB/],
    [{ queues: 0, vms: [{ name: 'a', adapters: 1 }] }, /queues must be an integer 1\.\.16/],
    [{ vms: [] }, /vms must be a list/],
    [{ vms: [{ name: 'A b', adapters: 1 }] }, /name must be 1-32 lowercase/],
    [
      {
        vms: [
          { name: 'a', adapters: 1 },
          { name: 'a', adapters: 1 },
        ],
      },
      /used twice/,
    ],
    [{ vms: [{ name: 'a', adapters: 9 }] }, /adapters must be an integer 0\.\.8/],
    [{ vms: [{ name: 'a', adapters: 0 }] }, /no VM carries an adapter/],
    [{ vms: [{ name: 'a', adapters: 1, disks: 1 }] }, /unknown field 'disks'/],
    [{ vms: [{ name: 'a', adapters: 1, memoryBytes: 100 * MiB }] }, /at least 256 MiB/],
    [{ vms: [{ name: 'a', adapters: 1, iommu: 'yes' }] }, /iommu must be true or false/],
    [[], /must be an object/],
  ])('refuses %j', (input, message) => {
    expect(() => parseTopology(input)).toThrow(TopologyError);
    expect(() => parseTopology(input)).toThrow(message);
  });
});

describe('command line of one VM', () => {
  it('machine, TCG with the hypervisor bit hidden, RAM, serial on stdio, QMP, kernel and initramfs', () => {
    const args = qemuArgs(plan());
    expect(values(args, '-machine')).toEqual(['q35,cxl=on']);
    expect(values(args, '-accel')).toEqual(['tcg,thread=multi,tb-size=256']);
    expect(values(args, '-cpu')).toEqual(['max,hypervisor=off']);
    expect(values(args, '-smp')).toEqual(['1']);
    expect(values(args, '-m')).toEqual(['1024M,slots=8,maxmem=5120M']);
    expect(values(args, '-serial')).toEqual(['stdio']);
    expect(values(args, '-qmp')).toEqual(['unix:/w/vm-a.qmp,server=on,wait=off']);
    expect(values(args, '-kernel')).toEqual([guest.kernel]);
    expect(values(args, '-initrd')).toEqual([guest.initrd]);
    expect(args).toContain('-no-reboot');
    expect(args).not.toContain('kvm');
  });

  it('each adapter: ivshmem-doorbell on its socket plus cxl-type3 on its memory file behind its own host bridge', () => {
    const devices = values(qemuArgs(plan()), '-device');
    expect(devices).toContain('ivshmem-doorbell,id=ra0,chardev=ra0-regs,vectors=3,bus=pcie.0,addr=0x10.0');
    expect(devices).toContain('ivshmem-doorbell,id=ra1,chardev=ra1-regs,vectors=3,bus=pcie.0,addr=0x11.0');
    expect(devices).toContain('pxb-cxl,id=cxl.0,bus_nr=12,bus=pcie.0');
    expect(devices).toContain('pxb-cxl,id=cxl.1,bus_nr=20,bus=pcie.0');
    expect(devices).toContain('cxl-rp,id=ra0-rp,port=0,bus=cxl.0,chassis=0,slot=2');
    expect(devices).toContain('cxl-rp,id=ra1-rp,port=0,bus=cxl.1,chassis=1,slot=3');
    // sn = the adapter's REG_SERIAL (pairing in the guest), in decimal
    expect(devices).toContain(
      `cxl-type3,id=ra0-cxl,bus=ra0-rp,volatile-memdev=ra0-mem,sn=${0x1234_5678_9abc_de02n}`,
    );
    const args = qemuArgs(plan());
    expect(values(args, '-chardev')).toEqual([
      'socket,id=ra0-regs,path=/m/ra2.sock',
      'socket,id=ra1-regs,path=/m/ra3.sock',
    ]);
    expect(values(args, '-object')).toEqual([
      'memory-backend-file,id=ra0-mem,share=on,mem-path=/m/ra2.mem,size=536870912',
      'memory-backend-file,id=ra1-mem,share=on,mem-path=/m/ra3.mem,size=536870912',
    ]);
    expect(values(args, '-M')).toEqual([
      'cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=4096M,cxl-fmw.1.targets.0=cxl.1,cxl-fmw.1.size=4096M',
    ]);
    expect(guestPciAddress(0)).toBe('0000:00:10.0');
    expect(guestPciAddress(1)).toBe('0000:00:11.0');
  });

  it('a memory window at least as large as an adapter bigger than 4 GiB', () => {
    const big = { ...attachment(0, 0), memoryBytes: 8 * GiB };
    expect(values(qemuArgs(plan({ adapters: [big] })), '-M')).toEqual([
      'cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=8192M',
    ]);
  });

  it('every other device sits on pcie.0 explicitly (cxl=on requires it)', () => {
    const devices = values(qemuArgs(plan()), '-device').filter((d) => !d.startsWith('cxl-'));
    for (const d of devices) expect(d).toMatch(/bus=pcie\.0/);
  });

  it('host root read-only over 9p, the share read-write', () => {
    const args = qemuArgs(plan());
    expect(values(args, '-fsdev')).toEqual([
      'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
      'local,id=share,path=/w,security_model=none,multidevs=remap',
    ]);
    expect(kernelCommandLine(plan())).toBe(
      'console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off tsc=reliable no_timer_check rafabric.modules=/c/kernel/lib/modules rafabric.share=/w rafabric.script=/w/vm-a.sh',
    );
  });

  it('an IOMMU VM: intel-iommu with interrupt remapping first, split irqchip, intel_iommu=on', () => {
    const p = plan({ vm: { ...plan().vm, iommu: true } });
    const args = qemuArgs(p);
    expect(values(args, '-machine')).toEqual(['q35,cxl=on,kernel-irqchip=split']);
    expect(values(args, '-device')[0]).toBe('intel-iommu,intremap=on');
    expect(kernelCommandLine(p)).toMatch(/ intel_iommu=on$/);
  });

  it('a VM without adapters has no CXL at all', () => {
    const args = qemuArgs(plan({ adapters: [] }));
    expect(values(args, '-machine')).toEqual(['q35']);
    expect(values(args, '-M')).toEqual([]);
    expect(args.join(' ')).not.toMatch(/cxl|ivshmem/);
  });

  it('refuses memory that is not a multiple of 256 MiB and paths with white space', () => {
    expect(() => qemuArgs(plan({ adapters: [{ ...attachment(0, 0), memoryBytes: 100 * MiB }] }))).toThrow(
      /not a multiple of 256 MiB/,
    );
    expect(() => qemuArgs(plan({ script: '/w/my script.sh' }))).toThrow(/white space/);
  });
});
