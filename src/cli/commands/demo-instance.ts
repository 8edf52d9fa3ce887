// The demo's instance: what a tenant's program does once the GRM granted its allocation (docs/access.md,
// DESIGN "Control plane and data plane"). It opens its grants with the client library (rafabric/client):
// a tenant window per adapter, never the register file or an owner key. It writes into a memory slice
// through its mapping, has server A's DMA engine copy the bytes into a slice of server B over the
// fabric (ra-spec §8.9), runs a job on its accelerator over them, and checks every result through
// its own mappings. Nothing on the way passes through the GRM or an agent.
import { createHash, randomBytes } from 'node:crypto';
import { Instance } from '../../client/instance.js';
import type { Allocation, Placement } from '../../grm/types.js';

const MiB = 1024 * 1024;

export interface GrantUse {
  from: Placement;
  to: Placement;
  engine: Placement;
  bytes: number;
  copyMs: number;
  jobMs: number;
  /** what the instance reads back from server B's slice equals what it wrote into server A's */
  sameBytes: boolean;
  /** the accelerator's digest of B's bytes equals node:crypto's */
  digestOk: boolean;
  digest: string;
}

/**
 * `granted`: the allocation with its grants (Grm.grants or GET /v1/allocations/{id}/grants); its first
 * resource is memory on two servers, its second an accelerator (sha256). `serverA` names the source.
 */
export async function useGrant(granted: Allocation, serverA: string): Promise<GrantUse> {
  const onA = (p: Placement) => p.adapter.startsWith(`${serverA}/`);
  const memory = granted.resources[0]!.placements;
  const from = memory.find(onA);
  const to = memory.find((p) => !onA(p));
  const engine = granted.resources[1]?.placements[0];
  if (!from || !to || !engine)
    throw new Error('the allocation needs memory slices on two servers and an accelerator');
  const bytes = Math.min(16 * MiB, from.bytes! - 8192, to.bytes!);
  const inst = Instance.open(granted, { timeoutMs: 120_000 });
  try {
    // The digest lands on the page after the data; only what the steps touch is mapped (a slice may
    // be larger than one mapping's 4 GiB).
    const digestAt = Math.ceil(bytes / 4096) * 4096;
    const a = inst.map(from, { offset: 0, bytes: digestAt + 4096 });
    const b = inst.map(to, { offset: 0, bytes });
    const data = randomBytes(bytes);
    a.bytes.set(data, 0); // load/store: only this slice's window of server A's adapter memory
    let t0 = performance.now();
    await inst.copy({ ...from, offset: 0 }, { ...to, offset: 0 }, bytes); // A's DMA engine, over the fabric
    const copyMs = performance.now() - t0;
    t0 = performance.now();
    await inst.job(engine, { ...to, offset: 0 }, { ...from, offset: digestAt }, bytes);
    const jobMs = performance.now() - t0;
    const sameBytes = Buffer.from(b.bytes.subarray(0, bytes)).equals(data);
    const digest = Buffer.from(a.bytes.subarray(digestAt, digestAt + 32));
    const digestOk = digest.equals(createHash('sha256').update(data).digest());
    return { from, to, engine, bytes, copyMs, jobMs, sameBytes, digestOk, digest: digest.toString('hex') };
  } finally {
    inst.close();
  }
}

/** Stores `data` at the start of a granted memory slice through the instance's mapping. */
export function writeThroughGrant(granted: Allocation, p: Placement, data: Uint8Array): void {
  const inst = Instance.open(granted);
  try {
    inst.map(p, { offset: 0, bytes: data.length }).bytes.set(data, 0);
  } finally {
    inst.close();
  }
}

/** The first `bytes` of a granted memory slice, read through the instance's mapping. */
export function readThroughGrant(granted: Allocation, p: Placement, bytes: number): Buffer {
  const inst = Instance.open(granted);
  try {
    return Buffer.from(inst.map(p, { offset: 0, bytes }).bytes);
  } finally {
    inst.close();
  }
}
