// `rafabric serve`: the embedded pool (device model + agent + GRM) behind the HTTP API, or, with
// --agents, a GRM on remote agents (cluster mode, docs/cluster.md).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { createApiServer, parseMetricsToken, parseOperators, parseTokens } from '../../api/index.js';
import { openServerCatalog } from '../../bitstream/shipped.js';
import { TrustStore } from '../../bitstream/trust.js';
import { CliCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { runningModelUris } from '../../driver/model-process.js';
import type { Grm } from '../../grm/grm.js';
import { readQuotaFile, writeQuotaFile } from '../../grm/quota-file.js';
import { loadRequestClasses, type RequestClasses } from '../../grm/request-classes.js';
import { type RemoteAgentAddress, startClusterGrm } from '../../modes/cluster.js';
import { startEmbedded } from '../../modes/embedded.js';
import { startReplica } from '../../modes/replica.js';
import { checkEtcdEndpoints } from '../../store/etcd-endpoints.js';
import { exitCodes, printError } from '../output.js';
import { flagName, parseInteger, parseSize } from '../parse.js';
import { checkClusterFlags, checkGrmCerts } from './cluster-flags.js';

/** What serve runs behind the API: the embedded pool or a GRM on remote agents. */
interface Pool {
  grm: Grm;
  reconciled: unknown[];
  /** For the listening line: "4 adapters", "3 agents: server1, server2, server3". */
  describe: string;
  /**
   * The device model was already serving the state folder when this start began (a restart reuses it):
   * it holds the allocations' slices and memory, so a start that fails leaves it running.
   */
  reusedModel: boolean;
  stop(options?: { keepModel?: boolean }): Promise<void>;
}

const describeAgents = (agents: readonly RemoteAgentAddress[]) =>
  `${agents.length} agent${agents.length === 1 ? '' : 's'}: ${agents.map((a) => a.server).join(', ')}`;

const collect = (value: string, previous: string[]) => [...previous, value];

const givenOnCommandLine = (command: Command, attribute: string) =>
  command.getOptionValueSource(attribute) === 'cli';

/** A flag's value checked by `parse`: its refusal becomes a usage error naming the flag (exit 2). */
function usage<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const message = (err as Error).message.replace(/^(tokens|operators|metrics token): /, '');
    throw new RaError(CliCode.USAGE, message.startsWith(`${flag}: `) ? message : `${flag}: ${message}`);
  }
}

/** --tokens (default $RAFABRIC_TOKENS): the API refuses every request without them, so serve needs some. */
function parseTokenFlag(text: string | undefined): Map<string, string> {
  if (text === undefined || text.trim() === '')
    throw new RaError(
      CliCode.USAGE,
      '--tokens: no tenant tokens; pass --tokens alice=TOKEN,bob=TOKEN or set RAFABRIC_TOKENS',
    );
  return usage('--tokens', () => parseTokens(text));
}

/** --host: an empty address would listen on every interface, which is not what an empty value asks for. */
function parseHost(text: string): string {
  if (text.trim() === '')
    throw new RaError(
      CliCode.USAGE,
      '--host: empty; pass the address to listen on (127.0.0.1, or 0.0.0.0 for every interface)',
    );
  return text;
}

/**
 * --leader-ttl and --stale-intent-ms tune the GRM replicas on etcd. Without --etcd nothing reads them:
 * given there they are refused rather than silently ignored (their defaults are not checked).
 */
function parseReplicaTimers(
  o: Readonly<Record<string, unknown>>,
  command: Command,
  onEtcd: boolean,
): { leaderTtlSeconds: number; intentInFlightMs: number } | undefined {
  if (!onEtcd) {
    for (const f of ['leaderTtl', 'staleIntentMs'])
      if (givenOnCommandLine(command, f))
        throw new RaError(
          CliCode.USAGE,
          `${flagName(f)}: only with --etcd (it tunes the GRM replicas on etcd)`,
        );
    return undefined;
  }
  return {
    leaderTtlSeconds: parseInteger('--leader-ttl', String(o.leaderTtl), 2, 3600),
    intentInFlightMs: parseInteger('--stale-intent-ms', String(o.staleIntentMs), 100, 3_600_000),
  };
}

/**
 * --repair and --stop-model act on what a state folder keeps: without --state the store is new and
 * empty (nothing to repair) and the device model is temporary (it stops with serve anyway).
 */
function checkStateFlags(o: Readonly<Record<string, unknown>>, onEtcd: boolean, withState: boolean) {
  if (onEtcd && o.repair === true)
    throw new RaError(
      CliCode.USAGE,
      '--repair applies to the journal store only: it cannot be used with --etcd',
    );
  if (withState) return;
  if (o.repair === true)
    throw new RaError(
      CliCode.USAGE,
      '--repair: only with --state (without it the store is new and empty: there is nothing to repair)',
    );
  if (o.stopModel === true)
    throw new RaError(
      CliCode.USAGE,
      '--stop-model: only with --state (without it the device model is temporary and always stops with serve)',
    );
}

/**
 * --trust stores read before anything starts: one that is missing, unreadable or not a trust store is a
 * refusal naming the flag (exit 2), not a failed start.
 */
function checkTrustStores(locations: readonly string[]): void {
  for (const location of locations) usage('--trust', () => TrustStore.load(location));
}

/** --request-classes FILE read before anything starts: a missing, unreadable or bad file names the flag. */
const readRequestClasses = (file: string): RequestClasses =>
  usage('--request-classes', () => loadRequestClasses(file));

/**
 * --bitstreams, --trust, --trust-dev-key, --operators and --request-classes as the pool's options.
 * `temporaryDir`: the bitstream folder made here when a catalog is needed without --bitstreams and
 * --state (serve removes it when it stops).
 */
function catalogOptions(o: {
  bitstreams?: string;
  state?: string;
  trust: string[];
  trustDevKey?: boolean;
  operators?: string;
  requestClasses?: RequestClasses;
}) {
  const names = (o.operators ?? '').split(',').filter((n) => n !== '');
  const chosen = o.bitstreams ?? (o.state ? path.join(o.state, 'bitstreams') : undefined);
  // Without --bitstreams and --state and no trust to apply, startEmbedded uses a folder in its temporary state.
  const temporaryDir =
    chosen === undefined && (o.trust.length > 0 || o.trustDevKey === true)
      ? mkdtempSync(path.join(os.tmpdir(), 'rafabric-bitstreams-'))
      : undefined;
  const dir = chosen ?? temporaryDir;
  return {
    temporaryDir,
    options: {
      ...(names.length ? { operators: new Set(names) } : {}),
      ...(o.requestClasses ? { requestClasses: o.requestClasses } : {}),
      ...(dir
        ? { catalog: openServerCatalog({ dir, trust: o.trust, trustDevKey: o.trustDevKey === true }) }
        : {}),
    },
  };
}

/** How long a failed start may spend stopping what it started before serve exits anyway. */
const UNDO_BOUND_MS = 10_000;

/**
 * Undoes a start that failed once the pool was up (port in use, a host that does not resolve): the pool
 * stops (its loops, agent and store), with the device model this start spawned and the temporary state
 * folder, but not a model that was running before (a restart reusing it). Bounded: a stop that hangs
 * must not keep a half-started server alive.
 */
async function undoFailedStart(pool: Pool | undefined, temporaryDir: string | undefined): Promise<void> {
  try {
    if (pool) {
      const stopped = pool.stop({ keepModel: pool.reusedModel });
      await Promise.race([stopped, new Promise((r) => setTimeout(r, UNDO_BOUND_MS).unref())]);
    }
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'the half-started pool did not stop cleanly');
  }
  if (temporaryDir) rmSync(temporaryDir, { recursive: true, force: true });
}

/**
 * Whether the embedded pool of a replica will reuse a device model already serving `<state>/model`:
 * startReplica does not say whether it spawned one, so the test startEmbedded makes is made first.
 */
function modelAlreadyRunning(stateDir: string | undefined, adapters: number): boolean {
  return stateDir !== undefined && runningModelUris(path.join(stateDir, 'model'), adapters) !== undefined;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the device model, an agent and the GRM (embedded mode) and serve the HTTP API')
    .option('--emulate <n>', 'number of emulated adapters', '4')
    .option('--memory <bytes>', 'memory per emulated adapter', '8G')
    .option('--port <port>', 'TCP port', '7470')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--state <dir>', 'keep state here: allocations survive a restart, a stop and a crash')
    .option('--tokens <list>', 'tenant tokens: alice=TOKEN,bob=TOKEN (default: $RAFABRIC_TOKENS)')
    .option(
      '--defrag-budget-bytes <bytes>',
      'most live memory one admission may move to defragment the pool (docs/realloc.md; 0: never)',
      '1G',
    )
    // Bitstream catalog and trust (docs/bitstreams.md, "Ownership").
    .option(
      '--bitstreams <dir>',
      'where tenants register bitstreams (default: <state>/bitstreams, or a temp folder)',
    )
    .option(
      '--trust <dir>',
      'trust store whose keys may sign registered bitstreams (repeatable)',
      collect,
      [],
    )
    .option(
      '--trust-dev-key',
      "also trust the package's development key (its private key is public: tests only)",
    )
    // ---- roles and quotas (issue 16; docs/grm.md, "Roles and quotas") ----
    .option(
      '--operators <names>',
      'operator tenants (each needs a token in --tokens): they see and manage every allocation, read every usage, set quotas and publish bitstreams: NAME,NAME (default: $RAFABRIC_OPERATORS)',
    )
    .option(
      '--quotas <file>',
      'quotas per tenant, JSON {"default": {...}, "tenants": {"alice": {"bytes": N, "units": N, "contexts": N, "sliceEntries": N, "allocations": N}}}; PUT /v1/tenants/NAME/quota writes it (default: <state>/quotas.json; none: no limits)',
    )
    .option(
      '--metrics-token <token>',
      'GET /metrics then needs Authorization: Bearer this token (or an operator token); default: /metrics is open (default: $RAFABRIC_METRICS_TOKEN)',
    )
    // ---- end of roles and quotas ----
    .option(
      '--request-classes <file>',
      'operator-defined request classes, JSON {"classes": [{"name", "selector"}]} (docs/grm.md "Classes")',
    )
    .option('--zone <name>', 'fabric zone of the emulated adapters (default: "default")')
    .option(
      '--etcd <urls>',
      'keep allocations in etcd (http://HOST:PORT[,...], members of one cluster) instead of the journal',
    )
    // ---- cluster mode: remote agents named on the command line (docs/cluster.md) ----
    .option(
      '--agents <list>',
      'remote agents instead of emulated adapters: NAME=HOST:PORT,... (each a `rafabric agent`)',
    )
    .option('--certs <dir>', 'with --agents: folder made by `rafabric certs` (ca.crt, grm.crt, grm.key)')
    .option(
      '--no-maintenance',
      'with --agents and no --etcd: run no reconciliation or reallocation here (another GRM on the same store does)',
    )
    // ---- end of cluster mode options ----
    // --- GRM replicas on etcd (docs/cluster.md, "GRM replicas") ---
    .option(
      '--agents-from-etcd',
      'with --etcd: use the agents registered in etcd (`rafabric agent --etcd`) instead of an embedded model',
    )
    .option(
      '--leader-ttl <seconds>',
      'with --etcd: lease TTL of the leader election (a dead leader is replaced within it)',
      '5',
    )
    .option(
      '--stale-intent-ms <ms>',
      "with --etcd: another replica's allocation still configuring after this long is rolled back by the leader",
      '10000',
    )
    // --- end of the replica options ---
    .option(
      '--repair',
      'open a damaged allocation store anyway, dropping the records that cannot be trusted (see docs/grm.md)',
    )
    .option(
      '--qemu <topology>',
      'QEMU mode: boot the VMs of this topology file as the servers (qemu/README.md)',
    )
    .option(
      '--boot-timeout <seconds>',
      'with --qemu: how long a VM may take from its start to its agent ready (TCG on a loaded host is slow)',
      '240',
    )
    .option(
      '--stop-model',
      'with --state: stop the emulated adapters on exit too (their slices and memory are lost)',
    )
    .action(
      async (o: Record<string, string | boolean | undefined> & { trust: string[] }, command: Command) => {
        // ---- cluster mode: flags checked before anything starts (exit 2, naming the flag) ----
        const agentList =
          typeof o.agents === 'string' || (typeof o.certs === 'string' && o.agentsFromEtcd !== true)
            ? checkClusterFlags(
                {
                  agents: typeof o.agents === 'string' ? o.agents : undefined,
                  certs: typeof o.certs === 'string' ? o.certs : undefined,
                },
                ['emulate', 'memory', 'stopModel'].filter((f) => givenOnCommandLine(command, f)),
              )
            : undefined;
        if ((!agentList || typeof o.etcd === 'string') && givenOnCommandLine(command, 'maintenance'))
          throw new RaError(
            CliCode.USAGE,
            '--no-maintenance: only with --agents and without --etcd (replicas on etcd elect the one that maintains)',
          );
        if (o.agentsFromEtcd === true && (agentList || typeof o.etcd !== 'string'))
          throw new RaError(CliCode.USAGE, '--agents-from-etcd: only with --etcd, and not with --agents');
        if (o.agentsFromEtcd === true)
          checkGrmCerts(typeof o.certs === 'string' ? o.certs : undefined, '--agents-from-etcd');
        // ---- end of cluster mode flags ----
        const tokens = parseTokenFlag(typeof o.tokens === 'string' ? o.tokens : process.env.RAFABRIC_TOKENS);
        const host = parseHost(String(o.host));
        const replicaTimers = parseReplicaTimers(o, command, typeof o.etcd === 'string');
        // Files named by flags are read now: a missing or unreadable one is the flag's refusal (exit 2).
        checkTrustStores(o.trust);
        const requestClasses =
          typeof o.requestClasses === 'string' ? readRequestClasses(o.requestClasses) : undefined;
        // ---- roles and quotas: every flag checked before anything starts ----
        const operatorList = String(o.operators ?? process.env.RAFABRIC_OPERATORS ?? '');
        o.operators = [...usage('--operators', () => parseOperators(operatorList, tokens))].join(',');
        const metricsTokenText = o.metricsToken ?? process.env.RAFABRIC_METRICS_TOKEN;
        const metricsToken =
          typeof metricsTokenText === 'string'
            ? usage('--metrics-token', () => parseMetricsToken(metricsTokenText, tokens))
            : undefined;
        const quotaFile =
          typeof o.quotas === 'string'
            ? o.quotas
            : typeof o.state === 'string'
              ? path.join(o.state, 'quotas.json')
              : undefined;
        // --quotas FILE is checked now (exit 2); the default in --state is read once the store has opened
        // that folder (a state path that is not a folder is the store's error, exit 1).
        const quotaTable =
          typeof o.quotas === 'string'
            ? usage('--quotas', () => readQuotaFile(o.quotas as string))
            : undefined;
        const apiOptions = { tokens, ...(metricsToken ? { metricsToken } : {}) };
        /** Quotas on the started GRM: a PUT writes the file first (not with --etcd: one file per replica). */
        const useQuotas = (grm: Grm, replicas: boolean) =>
          grm.useQuotas(
            quotaTable ?? (quotaFile ? readQuotaFile(quotaFile) : {}),
            quotaFile && !replicas ? (table) => writeQuotaFile(quotaFile, table) : undefined,
          );
        // ---- end of roles and quotas ----
        // ---- QEMU mode (src/modes/qemu/serve.ts): the servers are the topology's VMs, not a local model ----
        if (typeof o.qemu === 'string') {
          // serveQemu has no store, no local model and no request classes.
          for (const f of ['state', 'etcd', 'repair', 'stopModel', 'agents', 'certs', 'requestClasses'])
            if (o[f] !== undefined)
              throw new RaError(CliCode.USAGE, `--qemu cannot be used with ${flagName(f)}`);
          const port = parseInteger('--port', String(o.port), 0, 65535);
          const bootTimeoutMs = parseInteger('--boot-timeout', String(o.bootTimeout), 10, 3600) * 1000;
          const { readTopologyFile, serveQemu } = await import('../../modes/qemu/serve.js');
          usage('--qemu', () => readTopologyFile(String(o.qemu)));
          const c = catalogOptions({
            trust: o.trust,
            trustDevKey: o.trustDevKey === true,
            ...(typeof o.bitstreams === 'string' ? { bitstreams: o.bitstreams } : {}),
            ...(typeof o.operators === 'string' ? { operators: o.operators } : {}),
          });
          try {
            return await serveQemu({
              topologyPath: o.qemu,
              tokens,
              ...(metricsToken ? { metricsToken } : {}),
              quotas: quotaTable ?? {},
              port,
              host,
              bootTimeoutMs,
              log,
              ...c.options,
            });
          } finally {
            if (c.temporaryDir) rmSync(c.temporaryDir, { recursive: true, force: true });
          }
        }
        // ---- end of QEMU mode ----
        if (givenOnCommandLine(command, 'bootTimeout'))
          throw new RaError(CliCode.USAGE, '--boot-timeout is for QEMU mode: use it with --qemu');
        const adapters = parseInteger('--emulate', String(o.emulate), 1, 64);
        const port = parseInteger('--port', String(o.port), 0, 65535);
        const memoryBytes = parseSize('--memory', String(o.memory));
        const defragBudgetBytes = parseSize('--defrag-budget-bytes', String(o.defragBudgetBytes), {
          allowZero: true,
        });
        const stateDir = typeof o.state === 'string' ? o.state : undefined;
        const etcdText = typeof o.etcd === 'string' ? o.etcd : undefined;
        const etcdEndpoints =
          etcdText === undefined
            ? undefined
            : usage('--etcd', () => checkEtcdEndpoints(etcdText.split(',').map((url) => url.trim())));
        checkStateFlags(o, etcdEndpoints !== undefined, stateDir !== undefined);
        // Made last: a flag refused above leaves nothing behind.
        const catalog = catalogOptions({
          ...(typeof o.bitstreams === 'string' ? { bitstreams: o.bitstreams } : {}),
          ...(stateDir ? { state: stateDir } : {}),
          trust: o.trust,
          trustDevKey: o.trustDevKey === true,
          ...(typeof o.operators === 'string' ? { operators: o.operators } : {}),
          ...(requestClasses ? { requestClasses } : {}),
        });
        let pool: Pool | undefined;
        let address: string;
        let api: ReturnType<typeof createApiServer>;
        try {
          // ---- GRM replicas on etcd (src/modes/replica.ts): agents named, found in etcd, or embedded ----
          if (etcdEndpoints && replicaTimers) {
            const embeddedModel = !agentList && o.agentsFromEtcd !== true;
            const reusedModel = embeddedModel && modelAlreadyRunning(stateDir, adapters);
            const replica = await startReplica({
              etcdEndpoints,
              agentsFromEtcd: o.agentsFromEtcd === true,
              ...(agentList ? { agents: agentList.agents, certs: agentList.certs } : {}),
              ...(!agentList && typeof o.certs === 'string' ? { certs: o.certs } : {}),
              adapters,
              memoryBytes,
              ...(stateDir ? { stateDir } : {}),
              ...replicaTimers,
              log,
              ...catalog.options,
            });
            pool = {
              ...replica,
              reusedModel,
              describe: agentList ? describeAgents(agentList.agents) : replica.describe,
            };
          } else if (agentList) {
            // ---- cluster mode: a GRM on remote agents, no device model here ----
            const cluster = await startClusterGrm({
              agents: agentList.agents,
              certsDir: agentList.certs,
              ...(stateDir ? { stateDir } : {}),
              repairStore: o.repair === true,
              maintenance: o.maintenance !== false,
              defragBudgetBytes,
              log,
              ...catalog.options,
            });
            pool = {
              ...cluster,
              reusedModel: false,
              stop: () => cluster.stop(),
              describe: describeAgents(agentList.agents),
            };
          } else {
            // ---- end of cluster mode start ----
            const embedded = await startEmbedded({
              adapters,
              memoryBytes,
              ...(stateDir ? { stateDir } : {}),
              repairStore: o.repair === true,
              defragBudgetBytes,
              log,
              ...catalog.options,
              ...(typeof o.zone === 'string' ? { zone: o.zone } : {}),
            });
            // startEmbedded hands back the model only when it spawned one (none: it reused a running model).
            pool = {
              ...embedded,
              reusedModel: embedded.model === undefined,
              describe: `${adapters} adapters`,
            };
          }
          useQuotas(pool.grm, etcdEndpoints !== undefined);
          api = createApiServer(pool.grm, { ...apiOptions, logger: log.child({ component: 'api' }) });
          address = await api.listen({ port, host });
        } catch (err) {
          // A fatal startup error (store LOCKED/CORRUPT/IO_FAILED, port in use, ...) ends the process: the
          // device model's pipes or the agent's handles must not keep a half-started server alive, and what
          // this start made (a spawned model, temporary folders) must not outlive it.
          printError(err);
          await undoFailedStart(pool, catalog.temporaryDir);
          log.flush();
          process.exit(exitCodes.failure);
        }
        const started = pool;
        process.stdout.write(
          `rafabric: listening on ${address} (${started.describe}, ${started.reconciled.length} differences reconciled)\n`,
        );
        const signal = await new Promise<NodeJS.Signals>((resolve) => {
          process.once('SIGTERM', () => resolve('SIGTERM'));
          process.once('SIGINT', () => resolve('SIGINT'));
        });
        // With a state folder the emulated adapters are the "hardware": they keep running (slices, memory)
        // so the next `serve --state` finds every allocation active (docs/grm.md, "Restarts").
        const keepModel = stateDir !== undefined && o.stopModel !== true;
        log.info({ signal, keepModel }, 'shutting down');
        await api.close();
        await started.stop({ keepModel });
        if (catalog.temporaryDir) rmSync(catalog.temporaryDir, { recursive: true, force: true });
      },
    );
}
