// `rafabric serve`: the embedded pool (device model + agent + GRM) behind the HTTP API.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { createApiServer, parseTokens } from '../../api/index.js';
import { openServerCatalog } from '../../bitstream/shipped.js';
import { log } from '../../common/log.js';
import { type Embedded, startEmbedded } from '../../modes/embedded.js';
import { startReplica } from '../../modes/replica.js';
import { exitCodes, printError } from '../output.js';
import { parseInteger, parseSize } from '../parse.js';

/** What serve needs of a started pool: embedded mode's, or a replica's. */
type ServedPool = Pick<Embedded, 'grm' | 'reconciled' | 'stop'>;

const collect = (value: string, previous: string[]) => [...previous, value];

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
    .option('--operators <names>', 'tenants that may publish bitstreams to every tenant: NAME,NAME')
    .option(
      '--etcd <urls>',
      'keep allocations in etcd (http://HOST:PORT[,...], members of one cluster) instead of the journal',
    )
    // --- GRM replicas on etcd (docs/cluster.md, "GRM replicas") ---
    .option(
      '--agents-from-etcd',
      'with --etcd: use the agents registered in etcd (`rafabric agent --etcd`) instead of an embedded model',
    )
    .option('--certs <dir>', 'folder made by `rafabric certs`: ca.crt, grm.crt, grm.key (for remote agents)')
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
      '--stop-model',
      'with --state: stop the emulated adapters on exit too (their slices and memory are lost)',
    )
    .action(async (o: Record<string, string | boolean | undefined> & { trust: string[] }) => {
      const tokens = parseTokens(String(o.tokens ?? process.env.RAFABRIC_TOKENS ?? ''));
      if (tokens.size === 0)
        throw new Error('no tenant tokens: pass --tokens alice=TOKEN or set RAFABRIC_TOKENS');
      const adapters = parseInteger('--emulate', String(o.emulate), 1, 64);
      const port = parseInteger('--port', String(o.port), 0, 65535);
      const memoryBytes = parseSize('--memory', String(o.memory));
      const stateDir = typeof o.state === 'string' ? o.state : undefined;
      const etcdEndpoints =
        typeof o.etcd === 'string' ? o.etcd.split(',').map((url) => url.trim()) : undefined;
      if (etcdEndpoints && o.repair === true) {
        throw new Error('--repair applies to the journal store only: it cannot be used with --etcd');
      }
      let pool: ServedPool;
      let address: string;
      let api: ReturnType<typeof createApiServer>;
      try {
        // GRM replicas on etcd (src/modes/replica.ts); otherwise embedded mode.
        const replica = etcdEndpoints
          ? await startReplicaPool(etcdEndpoints, adapters, memoryBytes, stateDir, o)
          : undefined;
        pool =
          replica ??
          (await startEmbedded({
            adapters,
            memoryBytes,
            ...(stateDir ? { stateDir } : {}),
            repairStore: o.repair === true,
            ...(etcdEndpoints ? { etcdEndpoints } : {}),
            log,
            ...catalogOptions({
              ...(typeof o.bitstreams === 'string' ? { bitstreams: o.bitstreams } : {}),
              ...(stateDir ? { state: stateDir } : {}),
              trust: o.trust,
              trustDevKey: o.trustDevKey === true,
              ...(typeof o.operators === 'string' ? { operators: o.operators } : {}),
            }),
          }));
        api = createApiServer(pool.grm, { tokens, logger: log.child({ component: 'api' }) });
        address = await api.listen({ port, host: String(o.host) });
      } catch (err) {
        // A fatal startup error (store LOCKED/CORRUPT/IO_FAILED, port in use, ...) ends the process: the
        // device model's pipes or the agent's handles must not keep a half-started server alive.
        printError(err);
        log.flush();
        process.exit(exitCodes.failure);
      }
      process.stdout.write(
        `rafabric: listening on ${address} (${adapters} adapters, ${pool.reconciled.length} differences reconciled)\n`,
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
    });
}

// --- GRM replicas on etcd: `serve --etcd` starts one replica (src/modes/replica.ts) ---
async function startReplicaPool(
  etcdEndpoints: string[],
  adapters: number,
  memoryBytes: number,
  stateDir: string | undefined,
  o: Record<string, string | boolean | undefined> & { trust: string[] },
): Promise<ServedPool> {
  const replica = await startReplica({
    etcdEndpoints,
    agentsFromEtcd: o.agentsFromEtcd === true,
    ...(typeof o.certs === 'string' ? { certs: o.certs } : {}),
    adapters,
    memoryBytes,
    ...(stateDir ? { stateDir } : {}),
    leaderTtlSeconds: parseInteger('--leader-ttl', String(o.leaderTtl), 2, 3600),
    intentInFlightMs: parseInteger('--stale-intent-ms', String(o.staleIntentMs), 100, 3_600_000),
    log,
    ...catalogOptions({
      ...(typeof o.bitstreams === 'string' ? { bitstreams: o.bitstreams } : {}),
      ...(stateDir ? { state: stateDir } : {}),
      trust: o.trust,
      trustDevKey: o.trustDevKey === true,
      ...(typeof o.operators === 'string' ? { operators: o.operators } : {}),
    }),
  });
  return replica;
}
