// A cluster of real processes on 127.0.0.1 for the replica fault tests: etcd (test/helpers/etcd.ts), one
// `rafabric agent --etcd` that owns the adapters (its own device model) and registers in etcd, and GRM
// replicas started as `rafabric serve --etcd ... --agents-from-etcd`, all sharing those adapters. The
// adapters' slice tables are read through the driver from the model's sockets (test/agent/helpers.ts),
// never through the GRM or the agent.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, root, slicesOf, stopModel } from '../agent/helpers.js';
import { type EtcdCluster, rawRange } from '../helpers/etcd.js';
import type { MemoryPlacement, RegisterSlice } from '../helpers/history.js';
import { type Served, serve } from '../helpers/serve.js';

export const TOKEN = 'alice-token';
export const TOKENS = `alice=${TOKEN}`;
const READY_MS = 30_000;

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface ReplicaCluster {
  certs: string;
  agentDir: string;
  agent: ChildProcess;
  server: string;
  adapters: number;
  replicas: Served[];
  startReplica(): Promise<Served>;
  /** Every adapter's slices in use, from its registers. */
  registers(): RegisterSlice[];
  stop(): Promise<void>;
}

/** Starts the agent (registered in etcd) and `replicas` GRM replicas on the given etcd. */
export async function startReplicaCluster(
  etcd: EtcdCluster,
  o: {
    replicas: number;
    adapters?: number;
    memory?: string;
    leaderTtlSeconds?: number;
    staleIntentMs?: number;
  },
): Promise<ReplicaCluster> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rafabric-replicas-'));
  const certs = path.join(work, 'certs');
  const server = 's1';
  const made = cli(['certs', '--dir', certs, '--agents', server, '--grm', 'grm']);
  if (made.status !== 0) throw new Error(`rafabric certs failed: ${made.stderr}`);
  const adapters = o.adapters ?? 2;
  const agentDir = path.join(work, 'agent');
  const endpoints = etcd.endpoints.join(',');
  const agent = spawn(
    process.execPath,
    [
      path.join(root, 'bin/rafabric.js'),
      'agent',
      '--server',
      server,
      '--adapters',
      String(adapters),
      '--listen',
      '127.0.0.1:0',
      '--certs',
      certs,
      '--memory',
      o.memory ?? '64M',
      '--dir',
      agentDir,
      '--etcd',
      endpoints,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAFABRIC_LOG: 'warn' } },
  );
  children.add(agent);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`agent not ready: ${err}`)), READY_MS);
    agent.stderr!.on('data', (d) => (err += d));
    agent.stdout!.on('data', (d) => {
      out += d;
      if (/^agent s1 listening on /m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    agent.once('exit', (code) => reject(new Error(`agent exited ${code}: ${err}`)));
  });
  const args = [
    '--etcd',
    endpoints,
    '--agents-from-etcd',
    '--certs',
    certs,
    '--tokens',
    TOKENS,
    '--leader-ttl',
    String(o.leaderTtlSeconds ?? 2),
    '--stale-intent-ms',
    String(o.staleIntentMs ?? 3000),
  ];
  const replicas: Served[] = [];
  const startReplica = async () => {
    const s = await serve(args);
    children.add(s.child);
    replicas.push(s);
    return s;
  };
  try {
    for (let i = 0; i < o.replicas; i++) await startReplica();
  } catch (err) {
    // A replica that does not start fails the suite's beforeAll, whose afterAll has no cluster to stop:
    // stop what was started here (the agent's --dir model outlives the agent by design).
    for (const s of replicas) await kill(s.child, 'SIGKILL');
    await kill(agent, 'SIGKILL');
    stopModel(agentDir);
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const uri = (i: number) => `shm://${path.join(agentDir, 'model', `ra${i}.sock`)}`;
  return {
    certs,
    agentDir,
    agent,
    server,
    adapters,
    replicas,
    startReplica,
    registers() {
      const out: RegisterSlice[] = [];
      for (let i = 0; i < adapters; i++) {
        for (const s of slicesOf(uri(i))) {
          out.push({
            adapter: `${server}/ra${i}`,
            entry: s.entry,
            kind: s.kind,
            base: s.base,
            length: s.length,
            ownerKey: s.ownerKey.toString(16),
          });
        }
      }
      return out;
    },
    async stop() {
      for (const s of replicas) await kill(s.child, 'SIGTERM');
      await kill(agent, 'SIGTERM');
      stopModel(agentDir);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Sends `signal` (SIGCONT first, so a frozen process can act on it) and waits for the exit. */
export async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGCONT');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

/** One HTTP call with a deadline; a refused or reset connection rejects. */
export async function call(
  url: string,
  method: string,
  route: string,
  body?: unknown,
  timeoutMs = 8000,
): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** An allocation's memory placements as the API answers them. */
export function placementsOf(allocation: Record<string, unknown>): MemoryPlacement[] {
  const resources = allocation.resources as { placements: MemoryPlacement[] }[];
  return resources.flatMap((r) =>
    r.placements.map((p) => ({ adapter: p.adapter, slice: p.slice, offset: p.offset, bytes: p.bytes })),
  );
}

/** id -> placements, as replica `url` lists them. */
export async function listed(url: string): Promise<Map<string, MemoryPlacement[]>> {
  const r = await call(url, 'GET', '/v1/allocations');
  if (r.status !== 200) throw new Error(`GET /v1/allocations answered ${r.status}`);
  const items = (Array.isArray(r.body) ? r.body : (r.body?.allocations as unknown[])) as Record<
    string,
    unknown
  >[];
  return new Map(items.map((a) => [a.id as string, placementsOf(a)]));
}

/** The pid in the value of every candidate key of the leader election (the leader's among them). */
export async function candidates(etcd: EtcdCluster): Promise<number[]> {
  const kvs = await rawRange(
    etcd.endpoints.find((_, i) => etcd.members[i]!.running)!,
    '/rafabric/v1/election/',
  );
  return kvs.map((kv) => Number(kv.value.split('/')[1]));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
