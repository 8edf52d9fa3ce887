// `rafabric serve`: the embedded pool (device model + agent + GRM) behind the HTTP API, or, with
// --agents, a GRM on remote agents (cluster mode, docs/cluster.md).

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { createApiServer, parseMetricsToken, parseOperators, parseTokens } from '../../api/index.js';
import { openServerCatalog } from '../../bitstream/shipped.js';
import { CliCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { Grm } from '../../grm/grm.js';
import { readQuotaFile, writeQuotaFile } from '../../grm/quota-file.js';
import { loadRequestClasses } from '../../grm/request-classes.js';
import { type RemoteAgentAddress, startClusterGrm } from '../../modes/cluster.js';
import { startEmbedded } from '../../modes/embedded.js';
import { startReplica } from '../../modes/replica.js';
import { exitCodes, printError } from '../output.js';
import { parseInteger, parseSize } from '../parse.js';
import { checkClusterFlags } from './cluster-flags.js';

/** What serve runs behind the API: the embedded pool or a GRM on remote agents. */
interface Pool {
  grm: Grm;
  reconciled: unknown[];
  /** For the listening line: "4 adapters", "3 agents: server1, server2, server3". */
  describe: string;
  stop(options?: { keepModel?: boolean }): Promise<void>;
}

const describeAgents = (agents: readonly RemoteAgentAddress[]) =>
  `${agents.length} agent${agents.length === 1 ? '' : 's'}: ${agents.map((a) => a.server).join(', ')}`;

const collect = (value: string, previous: string[]) => [...previous, value];

/** A flag's value checked by `parse`: its refusal becomes a usage error naming the flag (exit 2). */
function usage<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new RaError(
      CliCode.USAGE,
      `${flag}: ${(err as Error).message.replace(/^(tokens|operators|metrics token): /, '')}`,
    );
  }
}

/** --bitstreams, --trust, --trust-dev-key, --operators as startEmbedded options. */
function catalogOptions(o: {
  bitstreams?: string;
  state?: string;
  trust: string[];
  trustDevKey?: boolean;
  operators?: string;
}) {
  const names = (o.operators ?? '').split(',').filter((n) => n !== '');
  const dir = o.bitstreams ?? (o.state ? path.join(o.state, 'bitstreams') : undefined);
  return {
    ...(names.length ? { operators: new Set(names) } : {}),
    // Without --bitstreams and --state, startEmbedded uses a folder in its temporary state.
    ...(dir || o.trust.length || o.trustDevKey
      ? {
          catalog: openServerCatalog({
            dir: dir ?? mkdtempSync(path.join(os.tmpdir(), 'rafabric-bitstreams-')),
            trust: o.trust,
            trustDevKey: o.trustDevKey === true,
          }),
        }
      : {}),
  };
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
                ['emulate', 'memory', 'stopModel'].filter((f) => command.getOptionValueSource(f) === 'cli'),
              )
            : undefined;
        if (
          (!agentList || typeof o.etcd === 'string') &&
          command.getOptionValueSource('maintenance') === 'cli'
        )
          throw new RaError(
            CliCode.USAGE,
            '--no-maintenance: only with --agents and without --etcd (replicas on etcd elect the one that maintains)',
          );
        if (o.agentsFromEtcd === true && (agentList || typeof o.etcd !== 'string'))
          throw new RaError(CliCode.USAGE, '--agents-from-etcd: only with --etcd, and not with --agents');
        // ---- end of cluster mode flags ----
        const tokens = parseTokens(String(o.tokens ?? process.env.RAFABRIC_TOKENS ?? ''));
        if (tokens.size === 0)
          throw new Error('no tenant tokens: pass --tokens alice=TOKEN or set RAFABRIC_TOKENS');
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
          for (const f of ['state', 'etcd', 'repair', 'stopModel', 'agents', 'certs'] as const)
            if (o[f] !== undefined)
              throw new RaError(
                CliCode.USAGE,
                `--qemu cannot be used with --${f === 'stopModel' ? 'stop-model' : f}`,
              );
          const { serveQemu } = await import('../../modes/qemu/serve.js');
          const c = catalogOptions({
            trust: o.trust,
            trustDevKey: o.trustDevKey === true,
            ...(typeof o.bitstreams === 'string' ? { bitstreams: o.bitstreams } : {}),
            ...(typeof o.operators === 'string' ? { operators: o.operators } : {}),
          });
          return serveQemu({
            topologyPath: o.qemu,
            tokens,
            ...(metricsToken ? { metricsToken } : {}),
            quotas: quotaTable ?? {},
            port: parseInteger('--port', String(o.port), 0, 65535),
            host: String(o.host),
            bootTimeoutMs: parseInteger('--boot-timeout', String(o.bootTimeout), 10, 3600) * 1000,
            log,
            ...c,
          });
        }
        // ---- end of QEMU mode ----
        if (command.getOptionValueSource('bootTimeout') === 'cli')
          throw new RaError(CliCode.USAGE, '--boot-timeout is for QEMU mode: use it with --qemu');
        const adapters = parseInteger('--emulate', String(o.emulate), 1, 64);
        const port = parseInteger('--port', String(o.port), 0, 65535);
        const memoryBytes = parseSize('--memory', String(o.memory));
        const defragBudgetBytes = parseSize('--defrag-budget-bytes', String(o.defragBudgetBytes), {
          allowZero: true,
        });
        const stateDir = typeof o.state === 'string' ? o.state : undefined;
        const etcdEndpoints =
          typeof o.etcd === 'string' ? o.etcd.split(',').map((url) => url.trim()) : undefined;
        if (etcdEndpoints && o.repair === true) {
          throw new Error('--repair applies to the journal store only: it cannot be used with --etcd');
        }
        let pool: Pool;
        let address: string;
        let api: ReturnType<typeof createApiServer>;
        const catalog = catalogOptions({
          ...(typeof o.bitstreams === 'string' ? { bitstreams: o.bitstreams } : {}),
          ...(stateDir ? { state: stateDir } : {}),
          trust: o.trust,
          trustDevKey: o.trustDevKey === true,
          ...(typeof o.operators === 'string' ? { operators: o.operators } : {}),
          ...(typeof o.requestClasses === 'string'
            ? { requestClasses: loadRequestClasses(o.requestClasses) }
            : {}),
        });
        try {
          // ---- GRM replicas on etcd (src/modes/replica.ts): agents named, found in etcd, or embedded ----
          if (etcdEndpoints) {
            const replica = await startReplica({
              etcdEndpoints,
              agentsFromEtcd: o.agentsFromEtcd === true,
              ...(agentList ? { agents: agentList.agents, certs: agentList.certs } : {}),
              ...(!agentList && typeof o.certs === 'string' ? { certs: o.certs } : {}),
              adapters,
              memoryBytes,
              ...(stateDir ? { stateDir } : {}),
              leaderTtlSeconds: parseInteger('--leader-ttl', String(o.leaderTtl), 2, 3600),
              intentInFlightMs: parseInteger('--stale-intent-ms', String(o.staleIntentMs), 100, 3_600_000),
              log,
              ...catalog,
            });
            pool = {
              ...replica,
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
              ...catalog,
            });
            pool = { ...cluster, stop: () => cluster.stop(), describe: describeAgents(agentList.agents) };
          } else {
            // ---- end of cluster mode start ----
            const embedded = await startEmbedded({
              adapters,
              memoryBytes,
              ...(stateDir ? { stateDir } : {}),
              repairStore: o.repair === true,
              defragBudgetBytes,
              log,
              ...catalog,
              ...(typeof o.zone === 'string' ? { zone: o.zone } : {}),
            });
            pool = { ...embedded, describe: `${adapters} adapters` };
          }
          useQuotas(pool.grm, etcdEndpoints !== undefined);
          api = createApiServer(pool.grm, { ...apiOptions, logger: log.child({ component: 'api' }) });
          address = await api.listen({ port, host: String(o.host) });
        } catch (err) {
          // A fatal startup error (store LOCKED/CORRUPT/IO_FAILED, port in use, ...) ends the process: the
          // device model's pipes or the agent's handles must not keep a half-started server alive.
          printError(err);
          log.flush();
          process.exit(exitCodes.failure);
        }
        process.stdout.write(
          `rafabric: listening on ${address} (${pool.describe}, ${pool.reconciled.length} differences reconciled)\n`,
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
        await pool.stop({ keepModel });
      },
    );
}
