// `rafabric certs`: the cluster CA and the certificates agents and the GRM present to each other.
import type { Command } from 'commander';
import { makeClusterCerts } from '../../agent/rpc/certs.js';

export function registerCertsCommand(program: Command): void {
  program
    .command('certs')
    .description(
      'make a cluster CA (or reuse the one in DIR) and a certificate for each agent and the GRM (needs openssl)',
    )
    .requiredOption('--dir <dir>', 'folder for ca.crt, ca.key, NAME.crt, NAME.key (created if missing)')
    .option('--agents <names>', 'agent (server) names, comma-separated: server1,server2', '')
    .option('--grm <name>', "the GRM's certificate name", 'grm')
    .action((o: Record<string, string>) => {
      const agents = o
        .agents!.split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      const r = makeClusterCerts({ dir: o.dir!, agents, grm: o.grm! });
      const out = [`cluster CA: ${r.ca.cert} (${r.ca.made ? 'made' : 'existing, reused'})`];
      for (const m of r.issued) out.push(`${m.role} ${m.name}: ${m.cert} ${m.key}`);
      for (const name of r.kept) out.push(`${name}: certificate exists, kept (delete it to issue a new one)`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
