// The command line of one `rafabric agent` whose adapters join a fabric shared with other servers
// (docs/cluster.md): the same for the demo's local agents and `rafabric cluster up`.
import { adapterId } from '../common/ids.js';

export interface FabricAgentSpec {
  /** Path of bin/rafabric.js. */
  cli: string;
  server: string;
  adaptersPerServer: number;
  /** HOST:PORT the agent listens on (port 0: any free one, printed when it listens). */
  listen: string;
  certsDir: string;
  /** Memory per adapter as the CLI takes it (e.g. "64MiB"). */
  memory: string;
  stateDir: string;
  fabricDir: string;
  /** Fabric port of the agent's first adapter: its adapters take the next adaptersPerServer ports. */
  fabricBase: number;
}

/** Arguments after `node`: the agent on its own directory, joined to the fabric at its base port. */
export function fabricAgentArgs(s: FabricAgentSpec): string[] {
  return [
    s.cli,
    'agent',
    '--server',
    s.server,
    '--adapters',
    String(s.adaptersPerServer),
    '--listen',
    s.listen,
    '--certs',
    s.certsDir,
    '--memory',
    s.memory,
    '--dir',
    s.stateDir,
    '--fabric',
    s.fabricDir,
    '--fabric-base',
    String(s.fabricBase),
  ];
}

/** The ids of the agent's adapters: SERVER/ra<fabric port> (src/common/ids.ts). */
export function fabricAgentAdapters(s: Pick<FabricAgentSpec, 'server' | 'adaptersPerServer' | 'fabricBase'>) {
  return Array.from({ length: s.adaptersPerServer }, (_, k) => adapterId(s.server, s.fabricBase + k));
}
