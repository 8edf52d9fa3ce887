// Embedded mode, assembled: the device model (a child process), one in-process agent that owns its
// adapters, the GRM on a crash-safe store, and the reallocation loop. Used by `serve` and `demo`.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { Agent } from '../agent/agent.js';
import { DirectAgentClient } from '../agent/protocol.js';
import type { Catalog } from '../bitstream/catalog.js';
import { openServerCatalog } from '../bitstream/shipped.js';
import { ModelProcess, runningModelUris } from '../driver/model-process.js';
import { Grm } from '../grm/grm.js';
import { type ReallocationPolicy, startReallocator } from '../grm/reallocator.js';
import { type Difference, reconcile, startReconciler } from '../grm/reconcile.js';
import type { ReplicaOptions } from '../grm/replica-sync.js';
import type { RequestClasses } from '../grm/request-classes.js';
import { EtcdStore } from '../store/etcd-store.js';
import { JournalStore } from '../store/journal-store.js';
import type { AllocationStore } from '../store/store.js';

export interface EmbeddedOptions {
  adapters: number;
  memoryBytes?: number;
  /** Keeps the store and the device model's files; a restart reuses a model still running there. */
  stateDir?: string;
  server?: string;
  reallocateEveryMs?: number;
  /** 'elastic' (default) resizes elastic allocations; 'release-when-idle' only releases idle ones. */
  reallocationPolicy?: ReallocationPolicy;
  /** Background reconciliation of the index with the slice tables (default: reallocateEveryMs). */
  reconcileEveryMs?: number;
  /** Open a damaged store anyway, dropping what cannot be trusted (`serve --repair`; see docs/grm.md). */
  repairStore?: boolean;
  /** Keep allocations in etcd at these client URLs instead of the journal in the state folder. */
  etcdEndpoints?: string[];
  log: Logger;
  /** Bitstream catalog (default: shipped bitstreams + `<state>/bitstreams`, no registration key trusted). */
  catalog?: Catalog;
  /** Tenants that may publish bitstreams (GrmOptions.operators). */
  operators?: ReadonlySet<string>;
  /** Fabric zone the agent publishes for its adapters (agent --zone). */
  zone?: string;
  /** Operator-defined request classes (GrmOptions.requestClasses). */
  requestClasses?: RequestClasses;
  /** A store opened by the caller (src/modes/replica.ts: the etcd store of a replica); closed by stop(). */
  store?: AllocationStore;
  /** One of several GRM replicas (GrmOptions.replica). */
  replica?: ReplicaOptions;
  /**
   * Reconcile at start and run the reallocation and reconciliation loops (default true). A replica leaves
   * them to the elected leader (src/modes/replica.ts).
   */
  maintenance?: boolean;
  /** GrmOptions.defragBudgetBytes (serve --defrag-budget-bytes). */
  defragBudgetBytes?: number;
}

export interface Embedded {
  grm: Grm;
  agent: Agent;
  model: ModelProcess | undefined;
  modelDir: string;
  reconciled: Difference[];
  /**
   * Stops the GRM. `keepModel` leaves the device model running with its slices and memory, so a GRM
   * started again on the same state folder finds every allocation as it was (a graceful restart).
   */
  stop(options?: { keepModel?: boolean }): Promise<void>;
}

export async function startEmbedded(o: EmbeddedOptions): Promise<Embedded> {
  const server = o.server ?? os.hostname();
  const ownsState = !o.stateDir;
  const stateDir =
    o.stateDir ??
    mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'rafabric-state-'));
  const modelDir = path.join(stateDir, 'model');
  mkdirSync(modelDir, { recursive: true });
  let model: ModelProcess | undefined;
  let uris = runningModelUris(modelDir, o.adapters);
  if (uris) o.log.info({ dir: modelDir }, 'reusing the device model that is still running');
  else {
    // With a state folder the model outlives a crashed GRM (its adapters keep their slices).
    model = await ModelProcess.start({
      adapters: o.adapters,
      dir: modelDir,
      memoryBytes: o.memoryBytes ?? 8 * 1024 ** 3,
      dieWithParent: ownsState,
    });
    uris = model.uris;
    writeFileSync(path.join(modelDir, 'ra-model.pid'), `${model.pid}\n`);
    o.log.info({ dir: modelDir, modelPid: model.pid, adapters: o.adapters }, 'device model started');
  }
  // A failure from here on must undo what was started, or the process would stay up on the model's pipes.
  let agent: Agent | undefined;
  let store: AllocationStore | undefined;
  try {
    const catalog = o.catalog ?? openServerCatalog({ dir: path.join(stateDir, 'bitstreams') });
    agent = Agent.open(server, uris, catalog, o.zone !== undefined ? { zone: o.zone } : {});
    const where = o.etcdEndpoints ? o.etcdEndpoints.join(',') : path.join(stateDir, 'store');
    store = o.store
      ? o.store
      : o.etcdEndpoints
        ? await EtcdStore.open({ endpoints: o.etcdEndpoints })
        : JournalStore.open(where, { repair: o.repairStore ?? false });
    for (const warning of store.load().diagnostics.warnings) o.log.warn({ store: where }, warning);
    const grm = new Grm({
      agents: [new DirectAgentClient(agent.handlers(), server)],
      store,
      catalog,
      log: o.log,
      ...(o.operators ? { operators: o.operators } : {}),
      ...(o.requestClasses ? { requestClasses: o.requestClasses } : {}),
      ...(o.replica ? { replica: o.replica } : {}),
      ...(o.defragBudgetBytes !== undefined ? { defragBudgetBytes: o.defragBudgetBytes } : {}),
    });
    const maintained = o.maintenance ?? true;
    const reconciled = maintained ? await grm.exclusive(() => reconcile(grm)) : [];
    const stopLoop = maintained
      ? startReallocator(grm, o.reallocateEveryMs ?? 1000, o.reallocationPolicy)
      : () => {};
    const stopReconciler = maintained
      ? startReconciler(grm, o.reconcileEveryMs ?? o.reallocateEveryMs ?? 1000)
      : () => {};
    const openAgent = agent;
    const openStore = store;
    return {
      grm,
      agent: openAgent,
      model,
      modelDir,
      reconciled,
      async stop({ keepModel = false } = {}) {
        stopLoop();
        stopReconciler();
        openAgent.close();
        await openStore.close();
        if (keepModel) model?.leaveRunning();
        else {
          if (model) await model.stop();
          else stopReusedModel(modelDir, o.log);
          if (ownsState) rmSync(stateDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    agent?.close();
    await store?.close();
    // A model we started for a store that cannot open holds nothing yet: stop it.
    if (model) await model.stop();
    if (ownsState) rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
}

/** Stops a model an earlier GRM started (its pid is in the model folder). */
function stopReusedModel(dir: string, log: Logger): void {
  try {
    const pid = Number(readFileSync(path.join(dir, 'ra-model.pid'), 'utf8'));
    if (Number.isInteger(pid) && pid > 1) process.kill(pid, 'SIGTERM');
  } catch (err) {
    log.warn({ dir, err: (err as Error).message }, 'could not stop the reused device model');
  }
}
