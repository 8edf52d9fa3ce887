// A whole topology as launch plans, one per VM: the host-side step between "ra-model serves the
// topology's adapters in modelDir" and QemuVm.start. `rafabric serve --qemu` and multi-VM tests
// build on this; each VM gets its QMP socket and serial log in workDir.
import path from 'node:path';
import { attachAdapter } from './attach.js';
import type { GuestImage, VmLaunchPlan } from './command-line.js';
import { type PlacedAdapter, placeAdapters, type Topology } from './topology.js';

export interface PlanOptions {
  /** The ra-model --dir serving every adapter of the topology (adapter i = ra<i>). */
  modelDir?: string;
  /**
   * Instead: one model per VM (a server of the cluster) on a shared fabric (ra-spec §8.9.1); VM v's
   * adapter j is ra<j> of the model serving modelDirOf(v).
   */
  modelDirOf?: (vm: string) => string;
  /** Folder for QMP sockets and serial logs; also shared read-write with every guest. */
  workDir: string;
  guest: GuestImage;
  /** Script each guest runs (host path); none: an interactive shell. */
  scriptFor?: (vm: string) => string | undefined;
  /** Host port forwarded to each guest's agent (127.0.0.1 only). */
  agentForwardFor?: (vm: string) => { hostPort: number; guestPort: number } | undefined;
}

export function planVms(t: Topology, o: PlanOptions): VmLaunchPlan[] {
  const placed = placeAdapters(t);
  const attach = (p: PlacedAdapter) => {
    if (o.modelDirOf) return attachAdapter(o.modelDirOf(p.vm), p, p.local);
    if (o.modelDir !== undefined) return attachAdapter(o.modelDir, p);
    throw new Error('planVms: give modelDir (one model) or modelDirOf (one model per VM)');
  };
  return t.vms.map((vm) => {
    const forward = o.agentForwardFor?.(vm.name);
    return {
      vm,
      adapters: placed.filter((p) => p.vm === vm.name).map(attach),
      guest: o.guest,
      qmpSocket: path.join(o.workDir, `${vm.name}.qmp`),
      sharedDir: o.workDir,
      script: o.scriptFor?.(vm.name),
      ...(forward ? { agentForward: forward } : {}),
    };
  });
}
