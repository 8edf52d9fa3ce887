// `rafabric serve --agents NAME=HOST:PORT,... --certs DIR`: a GRM process on remote agents (two
// agent processes, one fabric). Its flags are refused before anything starts; an allocation through
// its HTTP API spans both servers and is found in the adapters' own slice tables.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAgents, startLocalAgents } from '../../src/modes/local-agents.js';
import { activeSlices, CLI, cli, MiB, portOf, serverOf } from './helpers.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'cluster-serve-'));
const TOKEN = 'alice-token-1234';

describe('serve --agents', () => {
  let local: LocalAgents;
  let serve: ChildProcess | undefined;
  let url = '';

  beforeAll(async () => {
    local = await startLocalAgents({
      dir: work,
      servers: ['server1', 'server2'],
      adaptersPerServer: 2,
      memory: '64M',
      cli: CLI,
    });
  });
  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve!.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
    await local?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const agentsFlag = () => local.agents.map((a) => `${a.server}=${a.address}`).join(',');

  it.each([
    [['--agents', 'server1'], /--agents: 'server1' is not NAME=HOST:PORT/],
    [['--agents', 'server1=127.0.0.1:0'], /--agents server1 port: must be 1\.\.65535/],
    [
      ['--agents', 'server1=127.0.0.1:7480,server1=127.0.0.1:7481'],
      /--agents: server 'server1' is named twice/,
    ],
    [['--agents', 'bad_name=127.0.0.1:7480'], /--agents: 'bad_name=127.0.0.1:7480' is not NAME=HOST:PORT/],
    [['--agents', 'server1=127.0.0.1:7480'], /--certs: required with --agents/],
    [['--certs', '/tmp'], /--certs: only with --agents/],
    [
      ['--agents', 'server1=127.0.0.1:7480', '--certs', '/nonexistent-certs'],
      /--certs: \/nonexistent-certs is not a folder/,
    ],
    [['--agents', 'server1=127.0.0.1:7480', '--certs', '/tmp'], /--certs: \/tmp\/ca\.crt is missing/],
    [
      ['--agents', 'server1=127.0.0.1:7480', '--certs', '/tmp', '--emulate', '2'],
      /--emulate: not with --agents/,
    ],
    [['--no-maintenance'], /--no-maintenance: only with --agents/],
  ])('refuses %j with exit 2 and a message naming the flag', (args, message) => {
    const r = cli(['serve', '--tokens', `alice=${TOKEN}`, '--port', '0', ...args]);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
  });

  it('serves the adapters of both servers and spreads an allocation over them', async () => {
    serve = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--agents',
        agentsFlag(),
        '--certs',
        local.certsDir,
        '--port',
        '0',
        '--tokens',
        `alice=${TOKEN}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAFABRIC_LOG: 'warn' } },
    );
    let out = '';
    let err = '';
    serve.stdout!.on('data', (d) => {
      out += d;
    });
    serve.stderr!.on('data', (d) => {
      err += d;
    });
    await expect
      .poll(() => (serve!.exitCode === null ? out : `exited: ${err}`), { timeout: 60_000, interval: 100 })
      .toMatch(
        /^rafabric: listening on http:\/\/\S+ \(2 agents: server1, server2, 0 differences reconciled\)\n/,
      );
    url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const adapters = (await (await fetch(`${url}/v1/adapters`, { headers })).json()) as { id: string }[];
    expect(adapters.map((a) => a.id)).toEqual(['server1/ra0', 'server1/ra1', 'server2/ra2', 'server2/ra3']);
    // More than one server's memory (2 x 64 MiB): it must take memory from both.
    const response = await fetch(`${url}/v1/allocations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ resources: [{ kind: 'memory', bytes: 160 * MiB }] }),
    });
    expect(response.status).toBe(201);
    const allocation = (await response.json()) as {
      resources: { placements: { adapter: string; slice: number; offset: number; bytes: number }[] }[];
    };
    const placements = allocation.resources[0]!.placements;
    expect(new Set(placements.map((p) => serverOf(p.adapter)))).toEqual(new Set(['server1', 'server2']));
    expect(placements.reduce((n, p) => n + p.bytes, 0)).toBe(160 * MiB);
    for (const p of placements) {
      const agent = local.agents.find((a) => a.server === serverOf(p.adapter))!;
      expect(
        activeSlices(agent.uriOfPort(portOf(p.adapter))).map((s) => [s.entry, s.base, s.length]),
      ).toContainEqual([p.slice, p.offset, p.bytes]);
    }
  });
});
