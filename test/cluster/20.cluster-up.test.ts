// `rafabric cluster up` / `down` from the built CLI: etcd, agents (each its own process and device
// model, one fabric) and GRM replicas start detached and answer; `down` leaves none of them running.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, cli, MiB } from './helpers.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'cluster-up-'));
const dir = path.join(work, 'c');
const TOKEN = 'alice-token-1234';

/** The pids cluster.json records, plus the device models' (from each agent's --dir). */
function recordedPids(): number[] {
  const r = JSON.parse(readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as {
    etcd: { pid: number };
    agents: { pid: number; stateDir: string }[];
    grm: { pid: number }[];
  };
  const models = r.agents.map((a) =>
    Number(readFileSync(path.join(a.stateDir, 'model', 'ra-model.pid'), 'utf8')),
  );
  return [r.etcd.pid, ...r.agents.map((a) => a.pid), ...models, ...r.grm.map((g) => g.pid)];
}

describe('cluster up / down', () => {
  let pids: number[] = [];
  afterAll(() => {
    // A failed test must not leave the cluster running.
    cli(['cluster', 'down', '--dir', dir]);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  it.each([
    [['--servers', '0'], /--servers: must be 1\.\.64, got 0/],
    [['--adapters', 'x'], /--adapters: 'x' is not a whole number/],
    [
      ['--servers', '64', '--adapters', '8'],
      /--adapters: 64 servers x 8 adapters is more than the 256 ports/,
    ],
    [['--replicas', '9'], /--replicas: must be 1\.\.8, got 9/],
    [['--memory', 'lots'], /--memory: 'lots' is not a size/],
    [['--tokens', 'alice'], /--tokens: entry 1 is not tenant=TOKEN/],
  ])('up refuses %j with exit 2 and a message naming the flag', (args, message) => {
    const r = cli([
      'cluster',
      'up',
      '--dir',
      path.join(work, 'refused'),
      '--tokens',
      `alice=${TOKEN}`,
      ...args,
    ]);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
  });

  it('up with no etcd binary where RAFABRIC_ETCD points refuses clearly', () => {
    const r = cli(['cluster', 'up', '--dir', path.join(work, 'no-etcd'), '--tokens', `alice=${TOKEN}`], {
      RAFABRIC_ETCD: '/nonexistent/etcd',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/RAFABRIC_ETCD is \/nonexistent\/etcd, which does not exist/);
  });

  it('down refuses a folder without a cluster', () => {
    const r = cli(['cluster', 'down', '--dir', path.join(work, 'nothing')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--dir: no cluster recorded in .*cluster\.json is missing/);
  });

  it('starts etcd, 2 servers and 2 replicas, which serve; down stops every process', async () => {
    const up = cli([
      'cluster',
      'up',
      '--dir',
      dir,
      '--servers',
      '2',
      '--adapters',
      '2',
      '--replicas',
      '2',
      '--memory',
      '64M',
      '--tokens',
      `alice=${TOKEN}`,
    ]);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/cluster: starting etcd\n/);
    const lines = up.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const info = JSON.parse(lines[0]!) as {
      etcd: string;
      grm: string[];
      agents: { server: string; address: string; adapters: string[] }[];
    };
    pids = recordedPids();
    expect(pids.every(alive)).toBe(true);
    expect(info.etcd).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(((await (await fetch(`${info.etcd}/health`)).json()) as { health: string }).health).toBe('true');
    expect(info.agents.map((a) => [a.server, a.adapters])).toEqual([
      ['server1', ['server1/ra0', 'server1/ra1']],
      ['server2', ['server2/ra2', 'server2/ra3']],
    ]);
    expect(info.grm).toHaveLength(2);
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    // Every replica sees every server's adapters, as their agents report them.
    for (const url of info.grm) {
      const adapters = (await (await fetch(`${url}/v1/adapters`, { headers })).json()) as {
        id: string;
        health: string;
      }[];
      expect(adapters.map((a) => `${a.id} ${a.health}`)).toEqual(
        info.agents.flatMap((a) => a.adapters.map((id) => `${id} healthy`)),
      );
    }
    // An allocation through the second replica is committed to etcd and programmed across servers.
    const created = await fetch(`${info.grm[1]}/v1/allocations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ resources: [{ kind: 'memory', bytes: 160 * MiB }] }),
    });
    expect(created.status).toBe(201);
    const allocation = (await created.json()) as { resources: { placements: { adapter: string }[] }[] };
    expect(new Set(allocation.resources[0]!.placements.map((p) => p.adapter.split('/')[0]))).toEqual(
      new Set(['server1', 'server2']),
    );

    const down = cli(['cluster', 'down', '--dir', dir]);
    expect(down.status, down.stderr).toBe(0);
    expect(down.stderr).toMatch(new RegExp(`cluster: stopped ${pids.length} processes\\n`));
    expect(pids.filter(alive)).toEqual([]);
    // Nothing listens any more.
    await expect(fetch(`${info.grm[0]}/v1/adapters`, { headers })).rejects.toThrow();
  });
});
