// Several servers on this machine for the demo and the tests: one `rafabric agent` process per server,
// each with its own device model, every model joined to one fabric directory (ra-spec §8.9.1), with
// the certificates made for them. Children of this process: stop() ends them and their models.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { modelPidOf } from '../agent/host.js';
import { makeClusterCerts } from '../agent/rpc/certs.js';
import { fabricAgentArgs } from './fabric-agent.js';

export const AGENT_READY_TIMEOUT_MS = 60_000;
export const AGENT_STOP_BOUND_MS = 10_000;

export interface LocalAgent {
  server: string;
  address: string;
  /** The agent's --dir: its device model lives in stateDir/model and outlives the agent. */
  stateDir: string;
  /** Fabric port of the server's first adapter; adapter i is `server/ra<fabricBase + i>`. */
  fabricBase: number;
  child: ChildProcess;
  /** Socket of the device model's adapter with fabric port `port` (for an instance's own access). */
  uriOfPort(port: number): string;
}

export interface LocalAgents {
  agents: LocalAgent[];
  certsDir: string;
  fabricDir: string;
  /**
   * Starts `server`'s agent again on the same address and --dir (after a crash or kill): it takes
   * over the device model if that still runs, or starts a fresh one on the same fabric ports.
   */
  restart(server: string): Promise<LocalAgent>;
  /** SIGTERM every agent (SIGKILL after a bound), then stop their device models. */
  stop(): Promise<void>;
}

/** Starts `rafabric agent` for each server (in parallel); resolves once all listen. */
export async function startLocalAgents(o: {
  dir: string;
  servers: readonly string[];
  adaptersPerServer: number;
  memory: string;
  cli: string;
  env?: NodeJS.ProcessEnv;
}): Promise<LocalAgents> {
  const certsDir = path.join(o.dir, 'certs');
  const fabricDir = path.join(o.dir, 'fabric');
  mkdirSync(fabricDir, { recursive: true });
  makeClusterCerts({ dir: certsDir, agents: o.servers, grm: 'grm' });
  const children: { child: ChildProcess; stateDir: string }[] = [];
  const stop = async () => {
    await Promise.all(children.map(({ child }) => stopChild(child)));
    for (const { stateDir } of children) {
      const pid = modelPidOf(stateDir);
      if (pid !== undefined) await stopPid(pid);
    }
  };
  const launch = (server: string, i: number, listen: string): Promise<LocalAgent> => {
    const stateDir = path.join(o.dir, server);
    const fabricBase = i * o.adaptersPerServer;
    const child = spawn(
      process.execPath,
      fabricAgentArgs({
        cli: o.cli,
        server,
        adaptersPerServer: o.adaptersPerServer,
        listen,
        certsDir,
        memory: o.memory,
        stateDir,
        fabricDir,
        fabricBase,
      }),
      { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? { ...process.env, RAFABRIC_LOG: 'warn' } },
    );
    children.push({ child, stateDir });
    return waitListening(child, server).then((address) => ({
      server,
      address,
      stateDir,
      fabricBase,
      child,
      uriOfPort: (port) => `shm://${path.join(stateDir, 'model', `ra${port - fabricBase}.sock`)}`,
    }));
  };
  try {
    const agents = await Promise.all(o.servers.map((server, i) => launch(server, i, '127.0.0.1:0')));
    const restart = async (server: string) => {
      const i = agents.findIndex((a) => a.server === server);
      if (i < 0) throw new Error(`no agent for server ${server}`);
      agents[i] = await launch(server, i, agents[i]!.address);
      return agents[i]!;
    };
    return { agents, certsDir, fabricDir, restart, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function waitListening(child: ChildProcess, server: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () =>
        reject(new Error(`agent ${server} not ready after ${AGENT_READY_TIMEOUT_MS} ms: ${err.slice(-800)}`)),
      AGENT_READY_TIMEOUT_MS,
    );
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = new RegExp(`^agent ${server} listening on (\\S+)$`, 'm').exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`agent ${server} exited (${code ?? signal}) before it was ready: ${err.slice(-800)}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), AGENT_STOP_BOUND_MS);
  await exited;
  clearTimeout(timer);
}

/** SIGTERM a process that is not our child (a --dir agent's model), SIGKILL after the bound. */
async function stopPid(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + AGENT_STOP_BOUND_MS;
  while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  if (alive()) process.kill(pid, 'SIGKILL');
}
