// A GRM wired to two remote agents (two servers, each its own agent process and device model):
// one allocation takes memory from adapters of both servers, and every slice is found in the
// registers of the adapter its placement names.
import { createCipheriv } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteAgentClient } from '../../src/agent/rpc/client.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { Slots } from '../../src/driver/slots.js';
import { Grm } from '../../src/grm/grm.js';
import { MemoryStore } from '../../src/store/index.js';
import { Prng } from '../helpers/prng.js';
import {
  type AgentProcess,
  cli,
  MiB,
  remoteClient,
  slicesOf,
  startAgent,
  stopModel,
  withAdapter,
} from './helpers.js';

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
    const codes: (number | null)[] = [];
    for (const [server, a] of agents) {
      codes.push(await a.stop());
      stopModel(path.join(work, server));
    }
    rmSync(work, { recursive: true, force: true });
    expect(codes).toEqual(servers.map(() => 0));
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
      const slice = slicesOf(uriOf(p.adapter)).find((s) => s.entry === p.slice);
      expect(slice, `${p.adapter} entry ${p.slice}`).toBeDefined();
      expect(slice).toMatchObject({ kind: 'memory', state: 'active', base: p.offset, length: p.bytes });
      keys.add(slice!.ownerKey);
    }
    expect(keys.size).toBe(1); // one owner key across both servers: one allocation

    await grm.release('alice', allocation.id);
    for (const p of placements) expect(slicesOf(uriOf(p.adapter))).toEqual([]);
  });

  it('loads a bitstream, runs an aes-256-gcm job through a remote agent, equal to node:crypto', async () => {
    const prng = new Prng(0x40_5eed);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => prng.int(0, 255)));
    const allocation = await grm.allocate('alice', {
      resources: [{ kind: 'accelerator', function: 'aes-256-gcm' }],
    });
    const [placement] = allocation.resources[0]!.placements;
    const key = bytes(32);
    const iv = bytes(12);
    const input = bytes(300_000);
    const { output } = await grm.runJob('alice', allocation.id, {
      function: 'aes-256-gcm',
      params: { key: key.toString('hex'), iv: iv.toString('hex') },
      input: input.toString('base64'),
    });
    const c = createCipheriv('aes-256-gcm', key, iv);
    expect(
      Buffer.from(output, 'base64').equals(Buffer.concat([c.update(input), c.final(), c.getAuthTag()])),
    ).toBe(true);
    // The context slice is in the registers of the adapter the placement names.
    expect(slicesOf(uriOf(placement!.adapter)).find((s) => s.entry === placement!.slice)).toMatchObject({
      kind: 'context',
    });
    // The bitstream was loaded through the network: the slot says so.
    const slot = withAdapter(uriOf(placement!.adapter), (a) => new Slots(a).list()[placement!.slot!]);
    expect(slot).toMatchObject({ function: 'aes-256-gcm', state: 'busy' }); // busy: a context is in use
    await grm.release('alice', allocation.id);
    for (const server of servers)
      for (let i = 0; i < 2; i++) expect(slicesOf(agents.get(server)!.uri(i))).toEqual([]);
  });
});
