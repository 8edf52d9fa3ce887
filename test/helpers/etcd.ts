// Real etcd servers for the tests: one member or a cluster of several, on 127.0.0.1 with free ports and
// temporary data directories, stopped (and their directories removed) by stop(). Members can be killed
// and started again on the same data directory (what they acknowledged is on disk).
// etcd comes from Debian's etcd-server package (.ci/run installs it): without it the tests fail, saying so.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdBinary, freePort } from '../../src/modes/cluster-up/etcd.js';

export { etcdBinary };

const READY_TIMEOUT_MS = 15_000;

// The binary lookup (with the install hint) and the free-port probe are cluster up's own.

export class EtcdMember {
  process: ChildProcess | undefined;
  private output = '';

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
    private readonly initialCluster: string,
    private readonly token: string,
  ) {}

  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Starts the member (again, on its data directory) without waiting for it to serve. */
  start(): void {
    if (this.running) throw new Error(`etcd member ${this.name} is already running`);
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${this.initialCluster}`,
      `--initial-cluster-token=${this.token}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-level=error',
    ];
    this.output = '';
    const child = spawn(etcdBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-4000);
    });
    this.process = child;
  }

  /** SIGKILL (a crash) or SIGTERM; resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Resolves once the member answers /health (which needs a leader); throws with etcd's output if not. */
  async waitHealthy(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (!this.running) throw new Error(`etcd member ${this.name} exited: ${this.output}`);
      try {
        const response = await fetch(`${this.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await response.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd member ${this.name} not healthy within ${timeoutMs} ms: ${this.output}`);
  }
}

export class EtcdCluster {
  constructor(
    readonly members: EtcdMember[],
    private readonly root: string,
  ) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Stops every member and removes the data directories. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
    live.delete(this);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

const live = new Set<EtcdCluster>();
process.once('exit', () => {
  for (const cluster of live) for (const m of cluster.members) m.process?.kill('SIGKILL');
});

/** Starts `size` etcd members forming one cluster and waits until every one is healthy. */
export async function startEtcd(size = 1): Promise<EtcdCluster> {
  etcdBinary();
  const root = fs.mkdtempSync(join(tmpdir(), 'rafabric-etcd-'));
  const specs: { name: string; client: number; peer: number }[] = [];
  for (let i = 0; i < size; i++)
    specs.push({ name: `m${i}`, client: await freePort(), peer: await freePort() });
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const token = `rafabric-test-${process.pid}-${Date.now()}`;
  const members = specs.map(
    (s) =>
      new EtcdMember(
        s.name,
        `http://127.0.0.1:${s.client}`,
        `http://127.0.0.1:${s.peer}`,
        join(root, s.name),
        initialCluster,
        token,
      ),
  );
  const cluster = new EtcdCluster(members, root);
  live.add(cluster);
  try {
    for (const m of members) m.start();
    await Promise.all(members.map((m) => m.waitHealthy()));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

// etcd's own JSON gateway (/v3/...), used by tests to check what etcd holds independently of the npm
// client that the store uses.
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

async function gateway<T>(endpoint: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${endpoint}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok)
    throw new Error(`${path} on ${endpoint}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export interface RawKv {
  key: string;
  value: string;
  modRevision: number;
}

/** Every key under `prefix`, as etcd's gateway returns it (a linearizable read). */
export async function rawRange(endpoint: string, prefix: string): Promise<RawKv[]> {
  const end = Buffer.from(prefix, 'utf8');
  end[end.length - 1]! += 1;
  const body = await gateway<{ kvs?: { key: string; value?: string; mod_revision: string }[] }>(
    endpoint,
    '/v3/kv/range',
    { key: b64(prefix), range_end: end.toString('base64') },
  );
  return (body.kvs ?? []).map((kv) => ({
    key: unb64(kv.key),
    value: unb64(kv.value),
    modRevision: Number(kv.mod_revision),
  }));
}

export async function rawPut(endpoint: string, key: string, value: string): Promise<void> {
  await gateway(endpoint, '/v3/kv/put', { key: b64(key), value: b64(value) });
}

/** The index of the member that is raft leader now. */
export async function leaderIndex(cluster: EtcdCluster): Promise<number> {
  for (let i = 0; i < cluster.members.length; i++) {
    const member = cluster.members[i]!;
    if (!member.running) continue;
    const status = await gateway<{ header: { member_id: string }; leader: string }>(
      member.clientUrl,
      '/v3/maintenance/status',
      {},
    );
    if (status.header.member_id === status.leader) return i;
  }
  throw new Error('no etcd member says it is the leader');
}
