// A GRM replica, assembled (docs/cluster.md, "GRM replicas"): any number of them serve the API at once on
// one etcd. Each follows etcd (its view takes the others' commits, src/grm/replica-sync.ts); one of them,
// elected through etcd (src/store/etcd-leader.ts), runs reconciliation and reallocation, and another takes
// over within the lease TTL when it dies. The adapters are the agents registered in etcd (`rafabric agent
// --etcd`, found at start) or, without them, an embedded device model and agent as in embedded mode.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { RemoteAgentClient } from '../agent/rpc/client.js';
import { readTls } from '../agent/rpc/tls.js';
import type { Catalog } from '../bitstream/catalog.js';
import { openServerCatalog } from '../bitstream/shipped.js';
import { Grm } from '../grm/grm.js';
import { startReallocator } from '../grm/reallocator.js';
import { type Difference, startReconciler } from '../grm/reconcile.js';
import { coalesced, type ReplicaOptions } from '../grm/replica-sync.js';
import type { RequestClasses } from '../grm/request-classes.js';
import { listAgents } from '../store/etcd-agents.js';
import { LeaderElection } from '../store/etcd-leader.js';
import { EtcdStore } from '../store/etcd-store.js';
import type { RemoteAgentAddress } from './cluster.js';
import { startEmbedded } from './embedded.js';

/** Default age after which another replica's intent is taken as abandoned (its replica died configuring). */
export const DEFAULT_INTENT_IN_FLIGHT_MS = 10_000;

export interface ReplicaModeOptions {
  etcdEndpoints: string[];
  /** Remote agents found in etcd (needs `certs`), else an embedded model of `adapters` adapters. */
  agentsFromEtcd?: boolean;
  /** Remote agents named on the command line (`serve --agents`, needs `certs`). */
  agents?: readonly RemoteAgentAddress[];
  /** Folder made by `rafabric certs`: ca.crt and this GRM's certificate (`certName`, default "grm"). */
  certs?: string;
  certName?: string;
  adapters: number;
  memoryBytes?: number;
  stateDir?: string;
  log: Logger;
  catalog?: Catalog;
  operators?: ReadonlySet<string>;
  /** Operator-defined request classes (GrmOptions.requestClasses). */
  requestClasses?: RequestClasses;
  leaderTtlSeconds?: number;
  intentInFlightMs?: number;
  /** Period of the leader's passes and of every replica's re-read of the slice tables. */
  everyMs?: number;
  keyPrefix?: string;
}

export interface Replica {
  grm: Grm;
  election: LeaderElection;
  reconciled: Difference[];
  /** For serve's listening line: "4 adapters", "2 agents from etcd: server1, server2". */
  describe: string;
  stop(options?: { keepModel?: boolean }): Promise<void>;
}

export async function startReplica(o: ReplicaModeOptions): Promise<Replica> {
  const everyMs = o.everyMs ?? 1000;
  const store = await EtcdStore.open({
    endpoints: o.etcdEndpoints,
    ...(o.keyPrefix ? { keyPrefix: o.keyPrefix } : {}),
  });
  let election: LeaderElection | undefined;
  const replica: ReplicaOptions = {
    intentInFlightMs: o.intentInFlightMs ?? DEFAULT_INTENT_IN_FLIGHT_MS,
    async barrier() {
      if (!(await election?.confirm())) return false;
      await store.refresh();
      return true;
    },
  };
  let grm: Grm;
  let describe = `${o.adapters} adapters`;
  let stopPool: (options?: { keepModel?: boolean }) => Promise<void>;
  try {
    if (o.agentsFromEtcd || o.agents) {
      if (!o.certs)
        throw new Error('remote agents need --certs DIR (the cluster CA and the GRM certificate)');
      const tls = readTls(o.certs, o.certName ?? 'grm');
      const registered =
        o.agents ??
        (await listAgents({
          endpoints: o.etcdEndpoints,
          ...(o.keyPrefix ? { keyPrefix: o.keyPrefix } : {}),
        }));
      if (registered.length === 0)
        throw new Error(
          `no agent is registered in etcd at ${o.etcdEndpoints.join(',')}: start them with \`rafabric agent --etcd URL ...\` first`,
        );
      const agents = registered.map(
        (r) => new RemoteAgentClient({ server: r.server, address: r.address, tls, grm: os.hostname() }),
      );
      const catalog =
        o.catalog ?? openServerCatalog({ dir: mkdtempSync(path.join(os.tmpdir(), 'rafabric-bitstreams-')) });
      grm = new Grm({
        agents,
        store,
        catalog,
        log: o.log,
        ...(o.operators ? { operators: o.operators } : {}),
        ...(o.requestClasses ? { requestClasses: o.requestClasses } : {}),
        replica,
      });
      o.log.info({ agents: registered }, o.agents ? 'agents named' : 'agents found in etcd');
      describe = `${registered.length} agent${registered.length === 1 ? '' : 's'}${o.agents ? '' : ' from etcd'}: ${registered.map((r) => r.server).join(', ')}`;
      stopPool = async () => {
        for (const a of agents) a.close();
        await store.close();
      };
    } else {
      const pool = await startEmbedded({
        adapters: o.adapters,
        ...(o.memoryBytes ? { memoryBytes: o.memoryBytes } : {}),
        ...(o.stateDir ? { stateDir: o.stateDir } : {}),
        log: o.log,
        ...(o.catalog ? { catalog: o.catalog } : {}),
        ...(o.operators ? { operators: o.operators } : {}),
        ...(o.requestClasses ? { requestClasses: o.requestClasses } : {}),
        store,
        replica,
        maintenance: false,
      });
      grm = pool.grm;
      stopPool = (options) => pool.stop(options);
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  const log = o.log.child({ component: 'replica' });
  const reindexSoon = coalesced(
    () => grm.maintenance.reindex(),
    (err) => log.warn({ err: err.message }, 'slice tables not re-read'),
  );
  // The watch carries the other replicas' changes within a round trip; a read of the store every period
  // bounds how stale the view can be even when a watch broke silently (etcd restarted, a member lost).
  const catchUp = coalesced(
    () => store.refresh(),
    (err) => log.debug({ err: err.message }, 'store not re-read (etcd out of reach?)'),
  );
  store.onChange((change) => {
    grm.applyReplicaChange(change);
    if (change.kind === 'allocation') reindexSoon();
  });
  await store.watch();
  // Every replica re-reads the slice tables now and then (the leader's reconciliation does it too).
  const reindexTimer = setInterval(() => {
    catchUp();
    reindexSoon();
  }, everyMs);
  reindexTimer.unref();

  let stopLoops: (() => void) | undefined;
  const reconciled: Difference[] = [];
  election = new LeaderElection({
    endpoints: o.etcdEndpoints,
    name: os.hostname(),
    ...(o.keyPrefix ? { keyPrefix: o.keyPrefix } : {}),
    ...(o.leaderTtlSeconds ? { ttlSeconds: o.leaderTtlSeconds } : {}),
    onElected() {
      log.info({ id: election?.id }, 'elected: this replica runs reconciliation and reallocation');
      const stopReallocator = startReallocator(grm, everyMs);
      const stopReconciler = startReconciler(grm, everyMs);
      stopLoops = () => {
        stopReallocator();
        stopReconciler();
      };
    },
    onDemoted(why) {
      log.warn({ why }, 'no longer the leader: reconciliation and reallocation stop here');
      stopLoops?.();
      stopLoops = undefined;
    },
  });
  const openElection = election;
  return {
    grm,
    election: openElection,
    reconciled,
    describe,
    async stop(options) {
      clearInterval(reindexTimer);
      await openElection.stop();
      await stopPool(options);
    },
  };
}
