// `rafabric cluster up|down`: a whole cluster on 127.0.0.1 (etcd, one agent per server, GRM replicas)
// started from one folder and stopped again (src/modes/cluster-up/, docs/cluster.md).
import path from 'node:path';
import type { Command } from 'commander';
import { parseTokens } from '../../api/index.js';
import { DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { clusterDown, clusterUp } from '../../modes/cluster-up/up.js';
import { parseInteger, parseSize } from '../parse.js';

/** bin/rafabric.js of this package: what the agents and GRMs run. */
const CLI = path.resolve(import.meta.dirname, '../../../bin/rafabric.js');
/** Ports of one fabric (ra-spec §8.9.1): every adapter of the cluster needs one. */
const FABRIC_PORTS = 256;

const progress = (line: string) => process.stderr.write(`cluster: ${line}\n`);

function checkTokens(text: string): void {
  try {
    parseTokens(text);
  } catch (err) {
    const why = (err as Error).message.replace(/^tokens: /, '');
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `--tokens: ${why} (the GRMs' tenant tokens: --tokens alice=TOKEN,... or RAFABRIC_TOKENS)`,
    );
  }
}

export function registerClusterCommands(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('start or stop a whole cluster on this machine: etcd, one agent per server, GRM replicas');
  cluster
    .command('up')
    .description(
      'start etcd, the agents (each with its own device model, on one fabric) and the GRM replicas; ' +
        'print {"etcd", "grm", "agents"} as one JSON line and leave them running',
    )
    .requiredOption('--dir <dir>', 'folder for the certificates, data, pids and logs (DIR/logs)')
    .option('--servers <n>', 'servers, each its own agent process and device model (1..64)', '3')
    .option('--adapters <n>', 'emulated adapters per server (1..64)', '2')
    .option('--replicas <n>', 'GRM replicas serving the API (1..8)', '2')
    .option('--memory <bytes>', 'on-card memory per adapter (e.g. 1G)', '1G')
    .option('--tokens <list>', 'tenant tokens: alice=TOKEN,bob=TOKEN (default: $RAFABRIC_TOKENS)')
    .action(async (o: Record<string, string>) => {
      const servers = parseInteger('--servers', o.servers!, 1, 64);
      const adaptersPerServer = parseInteger('--adapters', o.adapters!, 1, 64);
      if (servers * adaptersPerServer > FABRIC_PORTS)
        throw new RaError(
          DriverCode.INVALID_ARGUMENT,
          `--adapters: ${servers} servers x ${adaptersPerServer} adapters is more than the ${FABRIC_PORTS} ports of one fabric`,
        );
      const replicas = parseInteger('--replicas', o.replicas!, 1, 8);
      parseSize('--memory', o.memory!);
      const tokens = o.tokens ?? process.env.RAFABRIC_TOKENS ?? '';
      if (tokens.trim() === '')
        throw new RaError(
          DriverCode.INVALID_ARGUMENT,
          '--tokens: no tenant tokens; pass --tokens alice=TOKEN or set RAFABRIC_TOKENS',
        );
      checkTokens(tokens);
      const info = await clusterUp({
        dir: o.dir!,
        servers,
        adaptersPerServer,
        replicas,
        memory: o.memory!,
        tokens,
        cli: CLI,
        progress,
      });
      process.stdout.write(`${JSON.stringify(info)}\n`);
    });
  cluster
    .command('down')
    .description(
      'stop every process `cluster up` started from DIR (device models too): SIGTERM, then SIGKILL',
    )
    .requiredOption('--dir <dir>', 'the folder given to `cluster up`')
    .action(async (o: { dir: string }) => {
      const r = await clusterDown({ dir: o.dir, progress });
      progress(
        `stopped ${r.stopped} processes${r.killed.length ? ` (${r.killed.length} needed SIGKILL: ${r.killed.join(', ')})` : ''}`,
      );
    });
}
