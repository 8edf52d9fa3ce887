// The flags that put `serve` in cluster mode (--agents, --certs), checked before anything starts:
// every refusal names its flag and says what to pass instead (exit status 2).
import { existsSync, statSync } from 'node:fs';
import { MEMBER_NAME } from '../../agent/rpc/tls.js';
import { DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import type { RemoteAgentAddress } from '../../modes/cluster.js';
import { flagName } from '../parse.js';
import { parseHostPort } from './agent.js';

const invalid = (message: string) => new RaError(DriverCode.INVALID_ARGUMENT, message);

/** "server1=127.0.0.1:7480,server2=10.0.0.7:7480" -> the agents, names unique. */
export function parseAgentList(text: string): RemoteAgentAddress[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0)
    throw invalid('--agents: empty; expected NAME=HOST:PORT,... (server1=127.0.0.1:7480)');
  if (items.length > 256)
    throw invalid(`--agents: ${items.length} agents; at most 256 (the ports of one fabric)`);
  const seen = new Set<string>();
  return items.map((item) => {
    const eq = item.indexOf('=');
    const server = eq < 0 ? '' : item.slice(0, eq);
    if (eq < 0 || !MEMBER_NAME.test(server))
      throw invalid(
        `--agents: '${item.slice(0, 80)}' is not NAME=HOST:PORT (NAME: the agent's --server, a DNS name; example server1=127.0.0.1:7480)`,
      );
    if (seen.has(server)) throw invalid(`--agents: server '${server}' is named twice`);
    seen.add(server);
    const { host, port } = parseHostPort(`--agents ${server}`, item.slice(eq + 1), 1);
    return { server, address: `${host.includes(':') ? `[${host}]` : host}:${port}` };
  });
}

/**
 * --agents and --certs go together, and exclude the flags of the embedded pool (`conflicting`: the
 * names of those given on the command line, as commander spells them).
 */
export function checkClusterFlags(
  o: { agents: string | undefined; certs: string | undefined },
  conflicting: readonly string[],
): { agents: RemoteAgentAddress[]; certs: string } {
  if (o.agents === undefined)
    throw invalid('--certs: only with --agents (the GRM presents its certificate to remote agents)');
  const agents = parseAgentList(o.agents);
  if (conflicting.length > 0)
    throw invalid(
      `${flagName(conflicting[0]!)}: not with --agents (the remote agents own their adapters and device models; pass --adapters/--memory to each \`rafabric agent\`)`,
    );
  return { agents, certs: checkGrmCerts(o.certs, '--agents') };
}

/** --certs of a GRM on remote agents (`with`: the flag that needs it): the CA and the GRM's pair. */
export function checkGrmCerts(certs: string | undefined, withFlag: string): string {
  if (certs === undefined)
    throw invalid(
      `--certs: required with ${withFlag}; make the folder with \`rafabric certs --dir DIR --agents NAME,...\``,
    );
  if (!existsSync(certs) || !statSync(certs).isDirectory())
    throw invalid(
      `--certs: ${certs} is not a folder; make it with \`rafabric certs --dir ${certs} --agents NAME,...\``,
    );
  for (const f of ['ca.crt', 'grm.crt', 'grm.key'])
    if (!existsSync(`${certs}/${f}`))
      throw invalid(`--certs: ${certs}/${f} is missing; make it with \`rafabric certs --dir ${certs}\``);
  return certs;
}
