// A GRM wired to two remote agents (two servers, each its own agent process and device model):
// one allocation takes memory from adapters of both servers, and every slice is found in the
// registers of the adapter its placement names.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteAgentClient } from '../../src/agent/rpc/client.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { Grm } from '../../src/grm/grm.js';
import { MemoryStore } from '../../src/store/index.js';
import { type AgentProcess, cli, MiB, remoteClient, slicesOf, startAgent, stopModel } from './helpers.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'grm-remote-'));
const certs = path.join(work, 'certs');
const servers = ['server1', 'server2'] as const;

describe('GRM with two remote agents', () => {
  const agents = new Map<string, AgentProcess>();
  const clients: RemoteAgentClient[] = [];
  let grm: Grm;

  beforeAll(async () => {
    expect(cli(['certs', '--dir', certs, '--agents', servers.join(',')]).status).toBe(0);
    for (const server of servers) {
      const a = await startAgent({
        server,
        certs,
        stateDir: path.join(work, server),
        adapters: 2,
        memory: '64M',
      });
      agents.set(server, a);
      clients.push(remoteClient(certs, a));
    }
    grm = new Grm({
      agents: clients,
      store: new MemoryStore(),
      catalog: openShippedCatalog(),
      log: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const [server, a] of agents) {
      expect(await a.stop()).toBe(0);
      stopModel(path.join(work, server));
    }
    rmSync(work, { recursive: true, force: true });
  });

  /** The registers of the adapter behind an id like "server2/ra1". */
  const uriOf = (adapterId: string) => {
    const [server, ra] = adapterId.split('/') as [string, string];
    return agents.get(server)!.uri(Number(ra.slice(2)));
  };

  it('sees the adapters of both servers', async () => {
    const views = await grm.listAdapters();
    expect(views.map((v) => v.id).sort()).toEqual([
      'server1/ra0',
      'server1/ra1',
      'server2/ra0',
      'server2/ra1',
    ]);
  });

  it('spreads one memory allocation over adapters of both servers, as their registers show', async () => {
    // 160 MiB: more than one server's two 64 MiB adapters hold.
    const allocation = await grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 160 * MiB }] });
    const placements = allocation.resources[0]!.placements;
    expect(new Set(placements.map((p) => p.adapter.split('/')[0]))).toEqual(new Set(servers));
    expect(placements.reduce((sum, p) => sum + p.bytes!, 0)).toBe(160 * MiB);
    const keys = new Set<bigint>();
    for (const p of placements) {
      const slice = slicesOf(uriOf(p.adapter)).find((s) => s.index === p.slice);
      expect(slice, `${p.adapter} entry ${p.slice}`).toBeDefined();
      expect(slice).toMatchObject({ kind: 'memory', state: 'active', base: p.offset, length: p.bytes });
      keys.add(slice!.ownerKey);
    }
    expect(keys.size).toBe(1); // one owner key across both servers: one allocation

    await grm.release('alice', allocation.id);
    for (const p of placements) expect(slicesOf(uriOf(p.adapter))).toEqual([]);
  });
});
