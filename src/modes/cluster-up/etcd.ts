// The etcd member `rafabric cluster up` runs for its GRM replicas: Debian's etcd-server binary, one
// member on 127.0.0.1 with free ports, its data directory in the cluster's folder.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Launched, launchDetached, startTicksOf } from './processes.js';

export const ETCD_READY_TIMEOUT_MS = 20_000;

/** The etcd binary ($RAFABRIC_ETCD, else etcd on the PATH), or an error that says how to install it. */
export function etcdBinary(): string {
  const chosen = process.env.RAFABRIC_ETCD;
  if (chosen !== undefined) {
    if (existsSync(chosen)) return chosen;
    throw new Error(
      `RAFABRIC_ETCD is ${chosen}, which does not exist: point it at the etcd binary or unset it`,
    );
  }
  for (const candidate of ['/usr/bin/etcd', '/usr/local/bin/etcd'])
    if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'etcd is not installed, and the cluster keeps its allocations in etcd: install it with ' +
        '`apt install etcd-server` (Debian, Ubuntu), or set RAFABRIC_ETCD to the etcd binary',
    );
  }
}

/** A TCP port free on 127.0.0.1 now (another process may take it before etcd binds it: then retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface EtcdProcess extends Launched {
  url: string;
}

/** Starts one etcd member with its data in `dataDir`; resolves once it answers /health. */
export async function startEtcd(o: { dataDir: string; logsDir: string }): Promise<EtcdProcess> {
  const binary = etcdBinary();
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const launched = launchDetached({
    name: 'etcd',
    command: binary,
    args: [
      '--name=rafabric',
      `--data-dir=${o.dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=rafabric=${peer}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-level=warn',
    ],
    logsDir: o.logsDir,
  });
  const etcd = { ...launched, url };
  await waitHealthy(etcd, ETCD_READY_TIMEOUT_MS);
  return etcd;
}

async function waitHealthy(etcd: EtcdProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (startTicksOf(etcd.pid) !== etcd.startTicks)
      throw new Error(`etcd exited before it was ready: see ${path.resolve(etcd.stderrFile)}`);
    try {
      const response = await fetch(`${etcd.url}/health`, { signal: AbortSignal.timeout(1000) });
      if (((await response.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not serving yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd not healthy within ${timeoutMs} ms: see ${path.resolve(etcd.stderrFile)}`);
}
