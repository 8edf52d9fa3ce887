// `rafabric serve --qemu TOPOLOGY`: boots the topology's VMs as the servers of the pool (pool.ts) and
// serves the GRM behind the HTTP API until SIGTERM or SIGINT, then stops the VMs and the models.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { createApiServer } from '../../api/index.js';
import type { Catalog } from '../../bitstream/catalog.js';
import { startQemuPool } from './pool.js';
import { parseTopology } from './topology.js';

export interface ServeQemuOptions {
  topologyPath: string;
  tokens: Map<string, string>;
  port: number;
  host: string;
  /** Per VM, from its start to its agent ready (serve --boot-timeout). */
  bootTimeoutMs?: number;
  log: Logger;
  catalog?: Catalog;
  operators?: ReadonlySet<string>;
  /** GET /metrics needs this token (or an operator's); absent: open (issue 16). */
  metricsToken?: string;
  /** Quotas per tenant (src/grm/quotas.ts), read from serve --quotas; not changed through the API here. */
  quotas?: unknown;
}

/** Reads and validates a topology file: errors name the file and the field. */
export function readTopologyFile(file: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`--qemu: cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`--qemu: ${file} is not JSON: ${(err as Error).message}`);
  }
  return parseTopology(json);
}

export async function serveQemu(o: ServeQemuOptions): Promise<void> {
  const topology = readTopologyFile(o.topologyPath);
  // Models' memory files live here too: RAM-backed when the host has /dev/shm.
  const workDir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'rafabric-qemu-'));
  const pool = await startQemuPool({
    topology,
    workDir,
    log: o.log,
    ...(o.bootTimeoutMs ? { bootTimeoutMs: o.bootTimeoutMs } : {}),
    ...(o.catalog ? { catalog: o.catalog } : {}),
    ...(o.operators ? { operators: o.operators } : {}),
  }).catch((err: Error) => {
    throw new Error(`${err.message} (serial logs and scripts kept in ${workDir})`);
  });
  pool.grm.useQuotas(o.quotas ?? {});
  const api = createApiServer(pool.grm, {
    tokens: o.tokens,
    ...(o.metricsToken ? { metricsToken: o.metricsToken } : {}),
    logger: o.log.child({ component: 'api' }),
  });
  const address = await api.listen({ port: o.port, host: o.host });
  const boots = [...pool.bootToAgentMs].map(([vm, ms]) => `${vm} ${(ms / 1000).toFixed(1)} s`).join(', ');
  process.stdout.write(
    `rafabric: listening on ${address} (QEMU: ${topology.vms.length} VMs, boot to agent ready: ${boots}; work folder ${workDir})\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  o.log.info({ signal }, 'shutting down: API, GRM, VMs, device models');
  await api.close();
  await pool.stop();
  rmSync(workDir, { recursive: true, force: true });
}
