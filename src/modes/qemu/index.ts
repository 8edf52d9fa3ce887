// QEMU mode: RAs inside CXL-enabled VMs (qemu/README.md). Host side: topology, command lines, VM
// launch; guest side: finding adapters, pairing them with their CXL memory, creating regions.

export { attachAdapter, modelFiles } from './attach.js';
export {
  type AdapterAttachment,
  type GuestImage,
  guestPciAddress,
  kernelCommandLine,
  qemuArgs,
  type VmLaunchPlan,
} from './command-line.js';
export { type PlanOptions, planVms } from './plan.js';
export {
  type PlacedAdapter,
  parseTopology,
  placeAdapters,
  type Topology,
  TopologyError,
  type VmSpec,
} from './topology.js';
export { DEFAULT_CACHE_DIR, findGuestImage, QemuVm, qmpCommand } from './vm.js';
