// Runs inside the guest of test/qemu/20.single-vm.qemu.ts, with the host's node over 9p and the
// checkout's dist/ (so `npm run build` first). Argument: a JSON object from the host
// { backend: 'pci' | 'vfio', sliceIndex, seed, sliceBaseBytes, sliceBytes, ownerKey, slot, descriptor }. Prints
// progress lines and one
// "RESULT {json}" line; the host checks everything it can from its own side (model registers, the
// memory file) rather than trusting this report.
import { createHash } from 'node:crypto';
import { loadBitstream } from '../../../dist/bitstream/loader.js';
import { Adapter } from '../../../dist/driver/adapter.js';
import { addon } from '../../../dist/driver/native.js';
import { Vec } from '../../../dist/driver/regs.js';
import { Slices } from '../../../dist/driver/slices.js';
import * as guest from '../../../dist/modes/qemu/guest.js';

const args = JSON.parse(process.argv[2]);
const started = Date.now();
// node's start and every module's load and evaluation, to this line (one bundled file: see
// src/modes/qemu/bundle-for-guest.ts)
const result = { steps: { imports: Math.round(process.uptime() * 1000) } };
const step = async (name, fn) => {
  const t0 = Date.now();
  const value = await fn();
  result.steps[name] = Date.now() - t0;
  console.log(`guest: ${name} done in ${Date.now() - t0} ms`);
  return value;
};

/** The bytes the guest writes: SHA-256 in counter mode over the seed (the host computes the same). */
function pattern(seed, bytes) {
  const out = Buffer.alloc(bytes);
  for (let i = 0, off = 0; off < bytes; i++, off += 32) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  }
  return out;
}

await step('modules', () => guest.loadModules(guest.CXL_MODULES));
const bdfs = guest.findIvshmemDevices();
result.bdfs = bdfs;
if (bdfs.length !== 1)
  throw new Error(`expected one ivshmem adapter, found ${bdfs.length}: ${bdfs.join(', ')}`);
const bdf = bdfs[0];

if (args.backend === 'vfio') {
  await step('bind-vfio', () => guest.bindVfio(bdf));
} else {
  // The vfio backend in a VM without an IOMMU must refuse at once with a diagnostic.
  try {
    Adapter.open(`vfio://${bdf}`).close();
    result.vfioError = null;
  } catch (err) {
    result.vfioError = err.message;
  }
}

const adapter = await step('open', () => Adapter.open(`${args.backend}://${bdf}`));
// Count the interrupts that reach this process (MSI-X through VFIO eventfds; none with pci://): the
// adapter's native device is wrapped before its first wait installs a watch.
let delivered = 0;
const device = adapter.device;
const watch = device.watch.bind(device);
// (the addon's methods are read-only on the prototype: define an own property instead)
Object.defineProperty(device, 'watch', {
  value: (vector, callback) =>
    watch(
      vector,
      callback &&
        ((count) => {
          delivered += count;
          callback(count);
        }),
    ),
});
result.identity = {
  serial: adapter.identity.serial,
  memoryBytes: adapter.identity.memoryBytes,
  slots: adapter.identity.slots,
  queues: adapter.identity.queues,
  peerId: adapter.peerId,
};
const memdev = await step('pair', () => guest.cxlMemdevBySerial(BigInt(`0x${adapter.identity.serial}`)));
const region = await step('region', () => guest.createRamRegion(memdev, adapter.identity.memoryBytes));
result.region = region;

const key = BigInt(args.ownerKey);
const slices = new Slices(adapter);
await step('slice', async () => {
  await slices.reserve(args.sliceIndex, {
    kind: 'memory',
    ownerKey: key,
    base: args.sliceBaseBytes,
    length: args.sliceBytes,
  });
  await slices.activate(args.sliceIndex, key);
});
const data = pattern(args.seed, args.sliceBytes);
await step('dax-write', () => {
  const map = new (addon().MemoryMapping)(
    `dax:///dev/${region.dax}`,
    region.dpaOffsetBytes + args.sliceBaseBytes,
    args.sliceBytes,
  );
  new Uint8Array(map.buffer).set(data);
  const back = Buffer.from(new Uint8Array(map.buffer));
  map.close();
  if (!back.equals(data)) throw new Error('the dax mapping does not read back what was written');
});
result.writtenSha256 = createHash('sha256').update(data).digest('hex');

// A misaligned dax mapping is refused with a message, not a crash.
try {
  new (addon().MemoryMapping)(`dax:///dev/${region.dax}`, 4096, 4096).close();
  result.misalignedError = null;
} catch (err) {
  result.misalignedError = err.message;
}

const loaded = await step('bitstream', () => loadBitstream(adapter, args.slot, args.descriptor));
result.interruptsDuringWaits = delivered;
// Every admin command's completion raised the ADMIN vector (ra-spec §17), but the driver's waits
// need not have seen it: a wait first looks at CMD_DONE_SEQ, and under TCG the host's model has
// usually finished before the guest gets back from ringing, so no watch is ever installed; a wait
// that did install one can also be ended by its 20 ms timer while the interrupt is still queued on
// the event loop. Either way the MSI-X messages are counted in the vector's eventfd. Watching the
// vector now reads them (a vector that never fired keeps the watch silent: the count stays 0).
if (args.backend === 'vfio' && delivered === 0) {
  await step(
    'interrupt',
    () =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, args.interruptWaitMs);
        device.watch(Vec.ADMIN, () => {
          clearTimeout(timer);
          resolve();
        });
      }),
  );
}
result.interruptsDelivered = delivered;
result.loaded = {
  id: loaded.id,
  function: loaded.function,
  payloadSha256: loaded.payloadSha256,
  slot: loaded.slot.index,
};
adapter.close();
result.totalMs = Date.now() - started;
console.log(`RESULT ${JSON.stringify(result)}`);
