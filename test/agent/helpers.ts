// Real agent processes on 127.0.0.1 for the network protocol's tests: certificates made by the
// `rafabric certs` command, agents started by `rafabric agent`, and a driver-level view of their
// adapters that does not trust the agent (it opens the model's sockets and reads the registers).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { modelPidOf } from '../../src/agent/host.js';
import { RemoteAgentClient, type RemoteAgentOptions } from '../../src/agent/rpc/client.js';
import { readTls } from '../../src/agent/rpc/tls.js';
import { Adapter } from '../../src/driver/adapter.js';
import { type SliceInfo, Slices } from '../../src/driver/slices.js';

export const root = path.resolve(import.meta.dirname, '../..');
export const MiB = 1024 * 1024;
const env = { ...process.env, RAFABRIC_LOG: 'silent' };

export function cli(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(root, 'bin/rafabric.js'), ...args], {
    encoding: 'utf8',
    env: { ...env, ...extraEnv },
  });
}

/** Every agent process started here: killed when the test worker exits, even after a failed test. */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

export const AGENT_READY_TIMEOUT_MS = 30_000;
/** A SIGTERM'd agent that has not exited by then is killed (and its exit code reads null). */
export const AGENT_STOP_TIMEOUT_MS = 10_000;

export interface AgentProcess {
  child: ChildProcess;
  server: string;
  port: number;
  address: string;
  stateDir: string;
  /** Adapter i's socket in the agent's device model (for reading its registers directly). */
  uri(i: number): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** `rafabric agent ...` with its state in stateDir; resolves once it printed its listening line. */
export async function startAgent(o: {
  server: string;
  certs: string;
  stateDir: string;
  adapters?: number;
  memory?: string;
  port?: number;
}): Promise<AgentProcess> {
  const args = [
    path.join(root, 'bin/rafabric.js'),
    'agent',
    '--server',
    o.server,
    '--adapters',
    String(o.adapters ?? 2),
    '--listen',
    `127.0.0.1:${o.port ?? 0}`,
    '--certs',
    o.certs,
    '--memory',
    o.memory ?? '64M',
    '--dir',
    o.stateDir,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  started.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      started.delete(child);
      resolve(code);
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent ${o.server} not ready after ${AGENT_READY_TIMEOUT_MS} ms: ${err}${out}`));
    }, AGENT_READY_TIMEOUT_MS);
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.stdout!.on('data', (d) => {
      out += d;
      const m = new RegExp(`^agent ${o.server} listening on 127\\.0\\.0\\.1:(\\d+)$`, 'm').exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent ${o.server} exited with ${code}: ${err}${out}`));
    });
  });
  return {
    child,
    server: o.server,
    port,
    address: `127.0.0.1:${port}`,
    stateDir: o.stateDir,
    uri: (i) => `shm://${path.join(o.stateDir, 'model', `ra${i}.sock`)}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), AGENT_STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The device model a --dir agent leaves running: stopped at the end of a test. */
export function stopModel(stateDir: string): void {
  const pid = modelPidOf(stateDir);
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

export function remoteClient(
  certs: string,
  agent: { server: string; address: string },
  extra: Partial<RemoteAgentOptions> & { identity?: string } = {},
): RemoteAgentClient {
  const { identity, ...rest } = extra;
  return new RemoteAgentClient({
    server: agent.server,
    address: agent.address,
    tls: readTls(certs, identity ?? 'grm'),
    reconnectMaxMs: 500,
    ...rest,
  });
}

/** Slices in use on adapter `uri`, read through the driver. */
export function slicesOf(uri: string): SliceInfo[] {
  const a = Adapter.open(uri);
  try {
    return new Slices(a).inUse();
  } finally {
    a.close();
  }
}

export function withAdapter<T>(uri: string, fn: (a: Adapter) => T): T {
  const a = Adapter.open(uri);
  try {
    return fn(a);
  } finally {
    a.close();
  }
}
