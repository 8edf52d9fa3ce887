// Inside a QEMU guest: finding the RAs, pairing each register file with its CXL memory device, and
// turning that device into a /dev/dax mapping (qemu/README.md "Inside the guest").
//
// - Adapters are ivshmem PCI devices (vendor 0x1af4, device 0x1110; ra-spec §14.3) whose BAR2 has
//   the RA magic: open them as pci://BDF (or vfio://BDF).
// - Pairing: the host gives each cxl-type3 device the adapter's REG_SERIAL as its serial number, so
//   the memory device of an adapter is the /sys/bus/cxl/devices/memX whose `serial` equals the
//   REG_SERIAL read from that adapter's registers.
// - Region: ndctl 76.1 cannot create RAM regions, so it is made through sysfs (create_ram_region,
//   endpoint decoder mode/dpa_size, region size/target0/commit); the new DAX device defaults to
//   system-RAM (kmem) mode and is switched to devdax with daxctl.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PCI_DEVICES = '/sys/bus/pci/devices';
const CXL_DEVICES = '/sys/bus/cxl/devices';
const DAX_DEVICES = '/sys/bus/dax/devices';
export const IVSHMEM_VENDOR = 0x1af4;
export const IVSHMEM_DEVICE = 0x1110;
/** Modules for CXL memory and devdax (busybox modprobe skips soft dependencies: name them all). */
export const CXL_MODULES = ['cxl_acpi', 'cxl_pci', 'cxl_port', 'cxl_mem', 'dax_cxl', 'device_dax'];
export const VFIO_MODULES = ['vfio', 'vfio_iommu_type1', 'vfio-pci'];
const POLL_MS = 50;

const read = (p: string): string => readFileSync(p, 'utf8').trim();

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits (blocking; setup-time only) until `check` returns a value. */
function waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    sleep(POLL_MS);
  }
}

/** PCI addresses of the ivshmem devices in this guest (candidate RAs), in address order. */
export function findIvshmemDevices(): string[] {
  if (!existsSync(PCI_DEVICES)) return [];
  return readdirSync(PCI_DEVICES)
    .filter((bdf) => {
      try {
        const dir = path.join(PCI_DEVICES, bdf);
        return (
          Number.parseInt(read(path.join(dir, 'vendor')), 16) === IVSHMEM_VENDOR &&
          Number.parseInt(read(path.join(dir, 'device')), 16) === IVSHMEM_DEVICE
        );
      } catch {
        return false;
      }
    })
    .sort();
}

export function loadModules(names: readonly string[]): void {
  for (const m of names) {
    try {
      execFileSync('modprobe', [m], { stdio: 'pipe' });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`modprobe ${m} failed: ${stderr || (err as Error).message}`);
    }
  }
}

/** The CXL memory device (memX) whose serial number is `serial`; waits for CXL enumeration. */
export function cxlMemdevBySerial(serial: bigint, timeoutMs = 10_000): string {
  return waitFor(
    `a CXL memory device with serial 0x${serial.toString(16)} (is the cxl-type3 device there?)`,
    timeoutMs,
    () => {
      if (!existsSync(CXL_DEVICES)) return undefined;
      for (const d of readdirSync(CXL_DEVICES).filter((n) => /^mem\d+$/.test(n))) {
        try {
          if (BigInt(read(path.join(CXL_DEVICES, d, 'serial'))) === serial) return d;
        } catch {
          // not ready yet
        }
      }
      return undefined;
    },
  );
}

/** The endpoint port of memdev `memX` (its `uport` link points at the memdev). */
function endpointOf(memdev: string): string | undefined {
  for (const e of readdirSync(CXL_DEVICES).filter((n) => /^endpoint\d+$/.test(n))) {
    try {
      if (path.basename(realpathSync(path.join(CXL_DEVICES, e, 'uport'))) === memdev) return e;
    } catch {
      // not ready yet
    }
  }
  return undefined;
}

export interface CxlRegion {
  memdev: string;
  region: string;
  rootDecoder: string;
  endpointDecoder: string;
  /** Device physical address where the region starts in the memdev (offset into the memory file). */
  dpaOffsetBytes: number;
  bytes: number;
  /** e.g. dax0.0; /dev/<dax> once in devdax mode */
  dax: string;
}

const write = (p: string, v: string | number) => writeFileSync(p, String(v));

/**
 * Creates a RAM region of `bytes` over memdev `memX` through sysfs and puts its DAX device in
 * devdax mode. Tries each root decoder (one per CXL host bridge) until one accepts the endpoint.
 */
export function createRamRegion(memdev: string, bytes: number, timeoutMs = 10_000): CxlRegion {
  const endpoint = waitFor(`the CXL endpoint port of ${memdev}`, timeoutMs, () => endpointOf(memdev));
  const endpointDecoder = waitFor(`an endpoint decoder of ${endpoint}`, timeoutMs, () =>
    readdirSync(path.join(CXL_DEVICES, endpoint)).find((n) => /^decoder\d+\.0$/.test(n)),
  );
  const ed = path.join(CXL_DEVICES, endpointDecoder);
  if (read(path.join(ed, 'mode')) !== 'ram') write(path.join(ed, 'mode'), 'ram');
  if (Number(read(path.join(ed, 'dpa_size'))) !== bytes) write(path.join(ed, 'dpa_size'), bytes);
  const roots = readdirSync(CXL_DEVICES).filter(
    (n) => /^decoder0\.\d+$/.test(n) && existsSync(path.join(CXL_DEVICES, n, 'create_ram_region')),
  );
  if (roots.length === 0)
    throw new Error('no CXL root decoder with create_ram_region: the VM has no CXL fixed memory window');
  const problems: string[] = [];
  for (const rootDecoder of roots) {
    const rd = path.join(CXL_DEVICES, rootDecoder);
    const region = read(path.join(rd, 'create_ram_region'));
    write(path.join(rd, 'create_ram_region'), region);
    const r = path.join(CXL_DEVICES, region);
    try {
      write(path.join(r, 'interleave_granularity'), 256);
      write(path.join(r, 'interleave_ways'), 1);
      write(path.join(r, 'size'), bytes);
      write(path.join(r, 'target0'), endpointDecoder);
      write(path.join(r, 'commit'), 1);
    } catch (err) {
      problems.push(`${rootDecoder}: ${(err as Error).message}`);
      try {
        write(path.join(rd, 'delete_region'), region);
      } catch {
        // best effort: the next root decoder gets a fresh region either way
      }
      continue;
    }
    if (!existsSync(`/sys/bus/cxl/drivers/cxl_region/${region}`))
      write('/sys/bus/cxl/drivers/cxl_region/bind', region);
    const dax = waitFor(`the DAX device of ${region}`, timeoutMs, () =>
      existsSync(DAX_DEVICES)
        ? readdirSync(DAX_DEVICES).find((d) =>
            realpathSync(path.join(DAX_DEVICES, d)).includes(`/${region}/`),
          )
        : undefined,
    );
    setDevdax(dax, timeoutMs);
    return {
      memdev,
      region,
      rootDecoder,
      endpointDecoder,
      dpaOffsetBytes: Number(read(path.join(ed, 'dpa_resource'))),
      bytes,
      dax,
    };
  }
  throw new Error(`no root decoder accepted ${endpointDecoder} of ${memdev}: ${problems.join('; ')}`);
}

/** Switches a DAX device to devdax (a CXL RAM region starts unbound, meant for system-RAM/kmem). */
export function setDevdax(dax: string, timeoutMs = 10_000): void {
  const driver = () => {
    try {
      return path.basename(realpathSync(path.join(DAX_DEVICES, dax, 'driver')));
    } catch {
      return undefined;
    }
  };
  if (driver() !== 'device_dax') {
    try {
      execFileSync('daxctl', ['reconfigure-device', '--mode=devdax', '-f', dax], { stdio: 'pipe' });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(
        `daxctl reconfigure-device --mode=devdax ${dax} failed: ${stderr || (err as Error).message}`,
      );
    }
  }
  waitFor(`${dax} bound to device_dax`, timeoutMs, () =>
    driver() === 'device_dax' && existsSync(`/dev/${dax}`) ? true : undefined,
  );
}

/** Binds a PCI device to vfio-pci (driver_override + drivers_probe), for the vfio:// backend. */
export function bindVfio(bdf: string): void {
  const dir = path.join(PCI_DEVICES, bdf);
  if (!existsSync(path.join(dir, 'iommu_group')))
    throw new Error(`${bdf} has no IOMMU group: the VM has no virtual IOMMU (topology "iommu": true)`);
  loadModules(VFIO_MODULES);
  const driverLink = path.join(dir, 'driver');
  if (existsSync(driverLink) && path.basename(realpathSync(driverLink)) === 'vfio-pci') return;
  if (existsSync(driverLink)) write(path.join(driverLink, 'unbind'), bdf);
  write(path.join(dir, 'driver_override'), 'vfio-pci');
  write('/sys/bus/pci/drivers_probe', bdf);
  if (!existsSync(driverLink) || path.basename(realpathSync(driverLink)) !== 'vfio-pci')
    throw new Error(`${bdf} did not bind to vfio-pci`);
}

/**
 * The /dev/dax device of the adapter whose REG_SERIAL is `serial`, once its agent made the region: what
 * an instance in the guest maps to reach its memory grant (byte X of the adapter's memory is byte
 * `dpaOffsetBytes + X` of the device).
 */
export function daxOfSerial(serial: bigint, timeoutMs = 10_000): { dax: string; dpaOffsetBytes: number } {
  const memdev = cxlMemdevBySerial(serial, timeoutMs);
  const endpoint = waitFor(`the CXL endpoint port of ${memdev}`, timeoutMs, () => endpointOf(memdev));
  const ed = path.join(CXL_DEVICES, endpoint);
  const decoder = readdirSync(ed).find((n) => /^decoder\d+\.0$/.test(n));
  const region = decoder ? read(path.join(CXL_DEVICES, decoder, 'region')) : '';
  if (!decoder || !region)
    throw new Error(`${memdev} has no CXL region: is the agent of this guest running (it creates them)?`);
  const dax = waitFor(`the DAX device of ${region} in devdax mode`, timeoutMs, () =>
    existsSync(DAX_DEVICES)
      ? readdirSync(DAX_DEVICES).find(
          (d) => realpathSync(path.join(DAX_DEVICES, d)).includes(`/${region}/`) && existsSync(`/dev/${d}`),
        )
      : undefined,
  );
  return { dax, dpaOffsetBytes: Number(read(path.join(CXL_DEVICES, decoder, 'dpa_resource'))) };
}
