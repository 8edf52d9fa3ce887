// A whole topology as launch plans, one per VM: the host-side step between "ra-model serves the
// topology's adapters in modelDir" and QemuVm.start. `rafabric serve --qemu` and multi-VM tests
// build on this; each VM gets its QMP socket and serial log in workDir.
import path from 'node:path';
import { attachAdapter } from './attach.js';
import type { GuestImage, VmLaunchPlan } from './command-line.js';
import { placeAdapters, type Topology } from './topology.js';

export interface PlanOptions {
  /** The ra-model --dir serving every adapter of the topology. */
  modelDir: string;
  /** Folder for QMP sockets and serial logs; also shared read-write with every guest. */
  workDir: string;
  guest: GuestImage;
  /** Script each guest runs (host path); none: an interactive shell. */
  scriptFor?: (vm: string) => string | undefined;
}

export function planVms(t: Topology, o: PlanOptions): VmLaunchPlan[] {
  const placed = placeAdapters(t);
  return t.vms.map((vm) => ({
    vm,
    adapters: placed.filter((p) => p.vm === vm.name).map((p) => attachAdapter(o.modelDir, p)),
    guest: o.guest,
    qmpSocket: path.join(o.workDir, `${vm.name}.qmp`),
    sharedDir: o.workDir,
    script: o.scriptFor?.(vm.name),
  }));
}
