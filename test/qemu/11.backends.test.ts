// The pci, vfio and dax backends on a host without ivshmem devices or DAX regions: every refusal is
// immediate and says what was wrong and what to do (ra-spec §14.3; qemu/README.md). The working
// paths run inside VMs in `npm run test:qemu`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { addon } from '../../src/driver/native.js';

const open = (uri: string) => () => Adapter.open(uri);
const map =
  (uri: string, offset = 0, bytes = 2 * 1024 * 1024) =>
  () =>
    new (addon().MemoryMapping)(uri, offset, bytes);

describe('adapter URIs of the QEMU backends', () => {
  it('the addon reports every backend', () => {
    expect(addon().buildInfo().backends.split(',')).toEqual(['shm', 'pci', 'vfio', 'dax']);
  });

  it.each(['pci', 'vfio'])('%s:// refuses what is not a PCI address, before touching sysfs', (scheme) => {
    expect(open(`${scheme}://../../etc`)).toThrow(/is not a PCI address: use DDDD:BB:SS\.F/);
    expect(open(`${scheme}://0000:00:03.0x`)).toThrow(/is not a PCI address/);
  });

  it.each(['pci', 'vfio'])('%s:// names a device that does not exist', (scheme) => {
    expect(open(`${scheme}://ffff:ff:1f.7`)).toThrow(/no PCI device ffff:ff:1f\.7/);
  });

  const ivshmem = (bdf: string) =>
    readFileSync(`/sys/bus/pci/devices/${bdf}/vendor`, 'utf8').trim() === '0x1af4' &&
    readFileSync(`/sys/bus/pci/devices/${bdf}/device`, 'utf8').trim() === '0x1110';
  const other = existsSync('/sys/bus/pci/devices')
    ? readdirSync('/sys/bus/pci/devices').find((bdf) => !ivshmem(bdf))
    : undefined;
  it.runIf(other)('refuses a PCI device that is not ivshmem', () => {
    expect(open(`pci://${other}`)).toThrow(/not an ivshmem device \(0x1af4:0x1110\) carrying an RA/);
    expect(open(`vfio://${other}`)).toThrow(/not an ivshmem device/);
  });

  it('unknown schemes list the supported ones', () => {
    expect(open('nvme://0')).toThrow(/scheme 'nvme' is not supported \(supported: shm, pci, vfio\)/);
  });
});

describe('adapter memory URIs (dax)', () => {
  it('a missing DAX device says the guest has no CXL region in devdax mode', () => {
    expect(map('dax:///dev/dax97.0')).toThrow(/no CXL region in devdax mode/);
  });

  it('a character device that is not DAX is refused', () => {
    expect(map('dax:///dev/null')).toThrow(/not a devdax device/);
  });

  it('a regular file is not a DAX device', () => {
    expect(map(`dax://${new URL(import.meta.url).pathname}`)).toThrow(/is not a DAX character device/);
  });

  it('other schemes are refused with the one supported', () => {
    expect(map('file:///tmp/x')).toThrow(/use dax:\/\/\/dev\/daxX\.Y/);
  });

  it('sizes outside 1 byte..4 GiB are refused before mapping', () => {
    expect(map('dax:///dev/dax0.0', 0, 0)).toThrow(RangeError);
    expect(map('dax:///dev/dax0.0', -4096, 4096)).toThrow(RangeError);
  });
});
