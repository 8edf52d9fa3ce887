// `rafabric agent --qemu-guest pci|vfio`: the server's agent inside a QEMU guest. Instead of starting
// a device model (the model runs on the host), it finds the guest's RAs (ivshmem devices with the RA
// magic, ra-spec §14.3), opens them through the pci or vfio backend, pairs each with its CXL memory
// device by REG_SERIAL (§3), makes that memory a /dev/dax device, and serves the agent protocol over
// gRPC with mutual TLS like any agent. Jobs stage through /dev/dax (guest-jobs.ts).

import { Agent } from '../../agent/agent.js';
import { type AgentServer, type AgentServerOptions, serveAgentRpc } from '../../agent/rpc/server.js';
import type { TlsFiles } from '../../agent/rpc/tls.js';
import { openShippedCatalog } from '../../bitstream/shipped.js';
import { DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { Adapter } from '../../driver/adapter.js';
import {
  bindVfio,
  CXL_MODULES,
  type CxlRegion,
  createRamRegion,
  cxlMemdevBySerial,
  findIvshmemDevices,
  loadModules,
} from './guest.js';
import { type GuestAdapter, runJobThroughDax } from './guest-jobs.js';

export type GuestBackend = 'pci' | 'vfio';

/** The agent's keepalive timeout toward the GRM inside a guest (the GRM's side uses 60 s too). */
export const GUEST_KEEPALIVE_TIMEOUT_MS = 60_000;

export interface GuestAgentOptions {
  server: string;
  /** RAs this guest must have (the host's topology says how many): a different count is refused. */
  adapters: number;
  backend: GuestBackend;
  host: string;
  port: number;
  tls: TlsFiles;
  onCallError?: AgentServerOptions['onCallError'];
  /** Progress lines (module loading, each adapter paired). */
  progress?: (line: string) => void;
}

export interface GuestAgent {
  agent: Agent;
  rpc: AgentServer;
  regions: CxlRegion[];
  stop(): Promise<void>;
}

/** Finds, pairs and opens the guest's adapters, then serves them. */
export async function startGuestAgent(o: GuestAgentOptions): Promise<GuestAgent> {
  const say = o.progress ?? (() => undefined);
  // The count first: on a machine that is not a rafabric guest this refuses before loading modules.
  const bdfs = findIvshmemDevices();
  if (bdfs.length !== o.adapters)
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `--adapters ${o.adapters}, but this machine has ${bdfs.length} ivshmem device(s)${bdfs.length ? ` (${bdfs.join(', ')})` : ''}: run it in a QEMU guest of the topology (serve --qemu)`,
    );
  loadModules(CXL_MODULES);
  const uris = bdfs.map((bdf) => `${o.backend}://${bdf}`);
  // Pairing and regions first, each adapter opened briefly to read its serial and memory size.
  const regions: CxlRegion[] = [];
  for (const [i, uri] of uris.entries()) {
    if (o.backend === 'vfio') bindVfio(bdfs[i]!);
    const a = Adapter.open(uri);
    let serial: bigint;
    let memoryBytes: number;
    try {
      serial = BigInt(`0x${a.identity.serial}`);
      memoryBytes = a.identity.memoryBytes;
    } finally {
      a.close();
    }
    const memdev = cxlMemdevBySerial(serial);
    const region = createRamRegion(memdev, memoryBytes);
    regions.push(region);
    say(`${uri}: serial ${serial.toString(16)} -> ${memdev} -> ${region.region} -> /dev/${region.dax}`);
  }
  const agent = Agent.open(o.server, uris, openShippedCatalog());
  try {
    const byId = new Map<string, GuestAdapter>();
    for (const [i, id] of agent.adapterIds.entries()) {
      const opened = agent.opened(id)!;
      byId.set(id, { ...opened, dax: regions[i]!.dax, dpaOffsetBytes: regions[i]!.dpaOffsetBytes });
    }
    const served = {
      server: agent.server,
      adapterIds: agent.adapterIds,
      inventory: () => agent.inventory(),
      handlers: () => ({
        ...agent.handlers(),
        runJob: (p: Record<string, unknown>) => runJobThroughDax(p, (id) => byId.get(id)),
      }),
    };
    const rpc = await serveAgentRpc(served, {
      host: o.host,
      port: o.port,
      tls: o.tls,
      // A starved TCG vCPU reads the GRM's pong late (its clock catches up after the gap, so the
      // timer has run out first): the 5 s default dropped healthy connections under load (measured).
      keepaliveTimeoutMs: GUEST_KEEPALIVE_TIMEOUT_MS,
      ...(o.onCallError ? { onCallError: o.onCallError } : {}),
    });
    return {
      agent,
      rpc,
      regions,
      async stop() {
        await rpc.close();
        agent.close();
      },
    };
  } catch (err) {
    agent.close();
    throw err;
  }
}
