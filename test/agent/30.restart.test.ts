// An agent killed with SIGKILL: calls fail fast with a typed error instead of hanging, and the
// same client reconnects by itself when an agent starts again on the same port. The device model
// kept by --dir outlives the agent, so the slices programmed before the kill are still there.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentAdapter } from '../../src/agent/agent.js';
import type { WatchEvent } from '../../src/agent/rpc/client.js';
import { RaError } from '../../src/driver/errors.js';
import { type AgentProcess, cli, MiB, remoteClient, slicesOf, startAgent, stopModel } from './helpers.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'restart-'));
const certs = path.join(work, 'certs');
const stateDir = path.join(work, 'server1');

describe('agent killed and restarted', () => {
  let agent: AgentProcess | undefined;
  afterAll(async () => {
    await agent?.stop();
    stopModel(stateDir);
    rmSync(work, { recursive: true, force: true });
  });

  it('fails calls fast while the agent is down and reconnects when it is back on the same port', async () => {
    expect(cli(['certs', '--dir', certs, '--agents', 'server1']).status).toBe(0);
    agent = await startAgent({ server: 'server1', certs, stateDir });
    const port = agent.port;
    const client = remoteClient(certs, agent, { reconnectInitialMs: 100, reconnectMaxMs: 500 });
    const events: WatchEvent[] = [];
    const watch = client.watch((e) => events.push(e), { intervalMs: 50, retryMs: 200 });
    try {
      const key = '0123456789abcdef';
      await client.call('program', {
        adapter: 'server1/ra1',
        entry: 5,
        kind: 'memory',
        ownerKey: key,
        base: 0,
        length: 2 * MiB,
      });
      await expect.poll(() => events.length, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
      const firstInstance = client.instances[0];

      agent.child.kill('SIGKILL');
      await new Promise((r) => agent!.child.once('exit', r));
      // Every call while it is down fails with AGENT_UNREACHABLE, each within a bound far below its deadline.
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const err = await client.call('inventory').then(
          () => undefined,
          (e: unknown) => e as RaError,
        );
        const elapsedMs = performance.now() - t0;
        expect(err).toBeInstanceOf(RaError);
        expect(err!.code).toBe('AGENT_UNREACHABLE');
        expect(err!.message).toMatch(/server1: agent at 127\.0\.0\.1:\d+ is unreachable/);
        expect(elapsedMs).toBeLessThan(1000);
        await new Promise((r) => setTimeout(r, 100));
      }
      // The slice is still on the adapter: the model kept by --dir outlived the agent.
      expect(slicesOf(agent.uri(1)).map((s) => [s.entry, s.length])).toEqual([[5, 2 * MiB]]);

      const snapshotsBefore = events.filter((e) => e.snapshot).length;
      agent = await startAgent({ server: 'server1', certs, stateDir, port });
      expect(agent.port).toBe(port);
      // The same client object: its channel reconnects with backoff, the handshake is redone.
      let inv: { adapters: AgentAdapter[] } | undefined;
      const t0 = performance.now();
      while (!inv && performance.now() - t0 < 10_000) {
        inv = await client.call<{ adapters: AgentAdapter[] }>('inventory').catch(() => undefined);
        if (!inv) await new Promise((r) => setTimeout(r, 100));
      }
      expect(inv).toBeDefined();
      expect(client.instances).toHaveLength(2);
      expect(client.instances[1]).not.toBe(firstInstance);
      const ra1 = inv!.adapters.find((a) => a.id === 'server1/ra1')!;
      expect(ra1.slices).toMatchObject([{ entry: 5, length: 2 * MiB, ownerKey: key }]);
      // The watch stream was reopened against the new agent and began with a new snapshot.
      await expect
        .poll(() => events.filter((e) => e.snapshot).length, { timeout: 10_000 })
        .toBe(snapshotsBefore + 1);
      await client.call('release', { adapter: 'server1/ra1', entry: 5, ownerKey: key });
      expect(slicesOf(agent.uri(1))).toEqual([]);
    } finally {
      watch.close();
      client.close();
    }
  });
});
