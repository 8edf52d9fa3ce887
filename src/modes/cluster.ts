// Cluster mode, assembled (`serve --agents`): a GRM whose adapters belong to remote agents, one per
// server, reached over gRPC with mutual TLS (docs/cluster.md), on the journal store or etcd. No
// device model and no agent run in this process: every server's `rafabric agent` owns its own.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { RemoteAgentClient } from '../agent/rpc/client.js';
import { readTls } from '../agent/rpc/tls.js';
import type { Catalog } from '../bitstream/catalog.js';
import { openServerCatalog } from '../bitstream/shipped.js';
import { AgentCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { Grm } from '../grm/grm.js';
import { startReallocator } from '../grm/reallocator.js';
import { type Difference, reconcile, startReconciler } from '../grm/reconcile.js';
import type { RequestClasses } from '../grm/request-classes.js';
import { EtcdStore } from '../store/etcd-store.js';
import { JournalStore } from '../store/journal-store.js';
import type { AllocationStore } from '../store/store.js';

export interface RemoteAgentAddress {
  server: string;
  /** HOST:PORT the agent listens on. */
  address: string;
}

export interface ClusterGrmOptions {
  agents: readonly RemoteAgentAddress[];
  /** Folder made by `rafabric certs`: ca.crt and this GRM's certificate and key. */
  certsDir: string;
  /** The GRM's certificate name in certsDir (default `grm`). */
  grmName?: string;
  /** Journal store and registered bitstreams here (default: a temporary folder, removed at stop). */
  stateDir?: string;
  /** Keep allocations in etcd at these client URLs instead of the journal. */
  etcdEndpoints?: string[];
  repairStore?: boolean;
  reallocateEveryMs?: number;
  reconcileEveryMs?: number;
  /**
   * Run reconciliation and reallocation here (default). A second GRM on the same store and agents
   * passes false: until replicas elect one to run them, two would release each other's new slices
   * as orphans (src/grm/reconcile.ts).
   */
  maintenance?: boolean;
  /** GrmOptions.defragBudgetBytes (serve --defrag-budget-bytes). */
  defragBudgetBytes?: number;
  log: Logger;
  catalog?: Catalog;
  operators?: ReadonlySet<string>;
  /** Operator-defined request classes (GrmOptions.requestClasses). */
  requestClasses?: RequestClasses;
}

export interface ClusterGrm {
  grm: Grm;
  agents: RemoteAgentClient[];
  reconciled: Difference[];
  /** Agents that did not answer at start: their adapters count as unhealthy until they do. */
  unreachable: string[];
  stop(): Promise<void>;
}

/**
 * Says Hello to every agent. A misconfiguration (another server at that address, another protocol
 * major) stops the start with its own error; an agent that is merely down does not: the GRM serves
 * the others and takes that server's adapters in when it answers (reconnect with backoff).
 */
async function greet(agents: readonly RemoteAgentClient[], log: Logger): Promise<string[]> {
  const unreachable: string[] = [];
  await Promise.all(
    agents.map((a) =>
      a.handshake().then(
        (hello) =>
          log.info({ server: a.server, address: a.address, instance: hello.instance }, 'agent joined'),
        (err: unknown) => {
          const code = err instanceof RaError ? err.code : undefined;
          if (code === AgentCode.VERSION_MISMATCH || code === AgentCode.MISMATCH) throw err;
          log.warn(
            { server: a.server, address: a.address, err: (err as Error).message },
            'agent not reachable yet',
          );
          unreachable.push(a.server);
        },
      ),
    ),
  );
  return unreachable;
}

export async function startClusterGrm(o: ClusterGrmOptions): Promise<ClusterGrm> {
  const tls = readTls(o.certsDir, o.grmName ?? 'grm');
  const ownsState = o.stateDir === undefined;
  const stateDir = o.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'rafabric-grm-'));
  const agents = o.agents.map(
    (a) => new RemoteAgentClient({ server: a.server, address: a.address, tls, grm: o.grmName ?? 'grm' }),
  );
  let store: AllocationStore | undefined;
  try {
    const unreachable = await greet(agents, o.log);
    const catalog = o.catalog ?? openServerCatalog({ dir: path.join(stateDir, 'bitstreams') });
    const where = o.etcdEndpoints ? o.etcdEndpoints.join(',') : path.join(stateDir, 'store');
    store = o.etcdEndpoints
      ? await EtcdStore.open({ endpoints: o.etcdEndpoints })
      : JournalStore.open(where, { repair: o.repairStore ?? false });
    for (const warning of store.load().diagnostics.warnings) o.log.warn({ store: where }, warning);
    const grm = new Grm({
      agents,
      store,
      catalog,
      log: o.log,
      ...(o.operators ? { operators: o.operators } : {}),
      ...(o.defragBudgetBytes !== undefined ? { defragBudgetBytes: o.defragBudgetBytes } : {}),
      ...(o.requestClasses ? { requestClasses: o.requestClasses } : {}),
    });
    const maintains = o.maintenance ?? true;
    const reconciled = maintains ? await grm.exclusive(() => reconcile(grm)) : [];
    const stopLoop = maintains ? startReallocator(grm, o.reallocateEveryMs ?? 1000) : () => {};
    const stopReconciler = maintains
      ? startReconciler(grm, o.reconcileEveryMs ?? o.reallocateEveryMs ?? 1000)
      : () => {};
    const openStore = store;
    return {
      grm,
      agents,
      reconciled,
      unreachable,
      async stop() {
        stopLoop();
        stopReconciler();
        for (const a of agents) a.close();
        await openStore.close();
        if (ownsState) rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const a of agents) a.close();
    await store?.close();
    if (ownsState) rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
}
