// GRM replicas on one etcd (docs/cluster.md, "GRM replicas"), real processes on 127.0.0.1: one etcd
// member (data on os.tmpdir(), so every commit waits for etcd's fsync), one `rafabric agent --etcd` that
// owns the adapters, and `rafabric serve --etcd --agents-from-etcd` replicas.
//   grm.replica_allocs_per_s.1   allocations/s (each followed by its release) through one replica
//   grm.replica_allocs_per_s.2   the same clients spread over two replicas; reference: the 1-replica rate
// Both replicas share one etcd and one set of adapters, so the second mostly adds conflicts to resolve;
// the figure says what a second replica costs or gains, not a scaling promise.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MiB, result, root } from './stats.mjs';

const CLI = path.join(root, 'bin/rafabric.js');
const CLIENTS = 16;
const TOKEN = 'bench-token';

function etcdBinary() {
  if (process.env.RAFABRIC_ETCD) return process.env.RAFABRIC_ETCD;
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('etcd is not installed (apt-get install -y etcd-server, or set RAFABRIC_ETCD)');
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Spawns a child and resolves once a stdout line matches `ready` (rejects if it exits first). */
function started(args, ready, env = {}) {
  const child = spawn(args[0], args.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RAFABRIC_LOG: 'error', ...env },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[1]} not ready: ${err.slice(-2000)}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.once('exit', (code) => reject(new Error(`${args[1]} exited ${code}: ${err.slice(-2000)}`)));
  });
}

async function startEtcd(dir) {
  const client = await freePort();
  const peer = await freePort();
  const url = `http://127.0.0.1:${client}`;
  const child = spawn(
    etcdBinary(),
    [
      `--data-dir=${dir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=default=http://127.0.0.1:${peer}`,
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 150; i++) {
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if ((await r.json()).health === 'true') return { child, url };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('etcd did not become healthy');
}

async function call(url, method, route, body) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** CLIENTS loops of allocate + free over `urls` for `windowMs`: acknowledged allocations/s and conflicts. */
async function measure(urls, windowMs) {
  let allocations = 0;
  let refused = 0;
  const until = performance.now() + windowMs;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const url = urls[i % urls.length];
      while (performance.now() < until) {
        const r = await call(url, 'POST', '/v1/allocations', {
          resources: [{ kind: 'memory', bytes: 2 * MiB }],
        });
        if (r.status !== 201) {
          refused += 1;
          continue;
        }
        allocations += 1;
        await call(url, 'DELETE', `/v1/allocations/${r.body.id}`);
      }
    }),
  );
  return { perSec: allocations / ((performance.now() - start) / 1000), allocations, refused };
}

export async function run({ quick }) {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rafabric-bench-replicas-'));
  const children = [];
  try {
    const etcd = await startEtcd(path.join(work, 'etcd'));
    children.push(etcd.child);
    const certs = path.join(work, 'certs');
    execFileSync(process.execPath, [CLI, 'certs', '--dir', certs, '--agents', 's1', '--grm', 'grm']);
    const agent = await started(
      [
        process.execPath,
        CLI,
        'agent',
        '--server',
        's1',
        '--adapters',
        '4',
        '--listen',
        '127.0.0.1:0',
        '--certs',
        certs,
        '--memory',
        '256M',
        '--etcd',
        etcd.url,
      ],
      /^agent s1 listening on /m,
    );
    children.push(agent.child);
    const serveArgs = [
      process.execPath,
      CLI,
      'serve',
      '--port',
      '0',
      '--etcd',
      etcd.url,
      '--agents-from-etcd',
      '--certs',
      certs,
      '--tokens',
      `bench=${TOKEN}`,
    ];
    const replicas = [];
    for (let i = 0; i < 2; i++) {
      const r = await started(serveArgs, /^rafabric: listening on (http:\/\/\S+)/m);
      children.push(r.child);
      replicas.push(r.match[1]);
    }
    const windowMs = quick ? 2000 : 8000;
    await measure([replicas[0]], 500); // warm-up
    const one = await measure([replicas[0]], windowMs);
    const two = await measure(replicas, windowMs);
    return [
      result('grm.replica_allocs_per_s.1', one.perSec, 'allocs/s', null, null, {
        clients: CLIENTS,
        windowMs,
        refused: one.refused,
      }),
      result(
        'grm.replica_allocs_per_s.2',
        two.perSec,
        'allocs/s',
        'the same clients on 1 replica',
        one.perSec,
        {
          clients: CLIENTS,
          windowMs,
          refused: two.refused,
        },
      ),
    ];
  } finally {
    for (const child of children.reverse()) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
}
