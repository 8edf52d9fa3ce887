// `rafabric serve`: the embedded pool (device model + agent + GRM) behind the HTTP API.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { createApiServer, parseTokens } from '../../api/index.js';
import { openServerCatalog } from '../../bitstream/shipped.js';
import { log } from '../../common/log.js';
import { startEmbedded } from '../../modes/embedded.js';
import { parseInteger, parseSize } from '../parse.js';

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
    .option('--state <dir>', 'keep state here: allocations survive a restart (and a crash)')
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
    .action(async (o: Record<string, string> & { trust: string[]; trustDevKey?: boolean }) => {
      const tokens = parseTokens(o.tokens ?? process.env.RAFABRIC_TOKENS ?? '');
      if (tokens.size === 0)
        throw new Error('no tenant tokens: pass --tokens alice=TOKEN or set RAFABRIC_TOKENS');
      const adapters = parseInteger('--emulate', o.emulate!, 1, 64);
      const port = parseInteger('--port', o.port!, 0, 65535);
      const pool = await startEmbedded({
        adapters,
        memoryBytes: parseSize('--memory', o.memory!),
        ...(o.state ? { stateDir: o.state } : {}),
        log,
        ...catalogOptions(o),
      });
      const api = createApiServer(pool.grm, { tokens, logger: false });
      const address = await api.listen({ port, host: o.host! });
      process.stdout.write(
        `rafabric: listening on ${address} (${adapters} adapters, ${pool.reconciled.length} differences reconciled)\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      log.info('shutting down');
      await api.close();
      await pool.stop();
    });
}
