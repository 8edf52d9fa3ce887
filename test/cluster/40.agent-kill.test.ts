// Fault: kill -9 one server's agent under a GRM (cluster mode, two servers, one fabric). Its adapters
// turn unhealthy within a stated bound; its allocations are acted on per policy (`onAdapterFailure`:
// "fail" -> lost, "replace" -> slices programmed again on the other server); the agent restarts on the
// same --dir (its device model survived, holding the old slices), rejoins, and reconciliation releases
// what no allocation owns any more. Every device fact is read from the adapters' slice tables.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import type { Allocation } from '../../src/grm/types.js';
import { type ClusterGrm, startClusterGrm } from '../../src/modes/cluster.js';
import { type LocalAgents, startLocalAgents } from '../../src/modes/local-agents.js';
import { activeSlices, CLI, MiB, portOf, serverOf } from './helpers.js';

/** The GRM's passes run every second (serve's default): the bounds below are stated against it. */
const PASS_MS = 1000;
/** Stated bound: a killed agent's adapters are unhealthy within two passes (plus a loaded machine's slack). */
const UNHEALTHY_BOUND_MS = 2 * PASS_MS + 3000;
/** Stated bound: its allocations are marked lost or replaced within one more pass. */
const ACTED_BOUND_MS = UNHEALTHY_BOUND_MS + PASS_MS;

const work = mkdtempSync(path.join(os.tmpdir(), 'cluster-agent-kill-'));

describe('kill -9 an agent', () => {
  let local: LocalAgents;
  let cluster: ClusterGrm;

  beforeAll(async () => {
    local = await startLocalAgents({
      dir: work,
      servers: ['server1', 'server2'],
      adaptersPerServer: 2,
      memory: '64M',
      cli: CLI,
    });
    cluster = await startClusterGrm({
      agents: local.agents.map((a) => ({ server: a.server, address: a.address })),
      certsDir: local.certsDir,
      log: pino({ level: 'silent' }),
      catalog: openShippedCatalog(),
      reallocateEveryMs: PASS_MS,
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    await local?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const uriOf = (adapterId: string) =>
    local.agents.find((a) => a.server === serverOf(adapterId))!.uriOfPort(portOf(adapterId));

  it('marks its adapters unhealthy, fails or replaces its allocations, and reconciles it on return', async () => {
    const grm = cluster.grm;
    const fail = await grm.allocate('t', {
      resources: [{ kind: 'memory', bytes: 16 * MiB }],
      policy: { onAdapterFailure: 'fail', maxAdapters: 1 },
    });
    const server = serverOf(fail.resources[0]!.placements[0]!.adapter);
    // A "replace" allocation on the same server (sameServer is a preference: ask until one lands there).
    let replace: Allocation | undefined;
    const others: Allocation[] = [];
    for (let i = 0; i < 8 && !replace; i++) {
      const a = await grm.allocate('t', {
        resources: [{ kind: 'memory', bytes: 8 * MiB }],
        policy: { onAdapterFailure: 'replace', maxAdapters: 1, sameServer: server },
      });
      if (serverOf(a.resources[0]!.placements[0]!.adapter) === server) replace = a;
      else others.push(a);
    }
    expect(replace, 'no replace allocation landed on the server to kill').toBeDefined();
    for (const o of others) await grm.release('t', o.id);
    const victim = local.agents.find((a) => a.server === server)!;
    const victimAdapters = (await grm.listAdapters()).filter((a) => a.server === server).map((a) => a.id);
    const oldPlacements = [...fail.resources[0]!.placements, ...replace!.resources[0]!.placements];
    // Both are in the victim's registers before the kill.
    for (const p of oldPlacements)
      expect(activeSlices(uriOf(p.adapter)).map((s) => [s.entry, s.base, s.length])).toContainEqual([
        p.slice,
        p.offset,
        p.bytes,
      ]);

    const killedAt = performance.now();
    victim.child.kill('SIGKILL');
    // Unhealthy: as the GRM's index says (the API's view), within the bound.
    let unhealthyMs = 0;
    await expect
      .poll(
        () => {
          unhealthyMs = performance.now() - killedAt;
          return grm.health().unhealthy;
        },
        { timeout: UNHEALTHY_BOUND_MS, interval: 20 },
      )
      .toBe(victimAdapters.length);
    let actedMs = 0;
    await expect
      .poll(
        () => {
          actedMs = performance.now() - killedAt;
          const f = grm.get('t', fail.id).state;
          const r = grm.get('t', replace!.id).resources[0]!.placements.map((p) => serverOf(p.adapter));
          return { fail: f, replacedOn: r.every((s) => s !== server) ? 'other server' : 'same server' };
        },
        { timeout: ACTED_BOUND_MS, interval: 20 },
      )
      .toEqual({ fail: 'lost', replacedOn: 'other server' });
    console.log(
      `agent kill -9: adapters unhealthy after ${unhealthyMs.toFixed(0)} ms, allocations acted on after ${actedMs.toFixed(0)} ms (passes every ${PASS_MS} ms)`,
    );
    // The replacement is real: programmed in the other server's registers where the GRM says.
    const replaced = grm.get('t', replace!.id);
    expect(replaced.state).toBe('active');
    for (const p of replaced.resources[0]!.placements)
      expect(activeSlices(uriOf(p.adapter)).map((s) => [s.entry, s.base, s.length])).toContainEqual([
        p.slice,
        p.offset,
        p.bytes,
      ]);
    // The victim's model survived the agent (--dir): its old slices are still programmed.
    for (const p of oldPlacements)
      expect(activeSlices(uriOf(p.adapter)).map((s) => [s.entry, s.base])).toContainEqual([
        p.slice,
        p.offset,
      ]);

    // The agent comes back on the same address and folder: it takes the model over and rejoins.
    const restartedAt = performance.now();
    await local.restart(server);
    await expect.poll(() => grm.health().unhealthy, { timeout: 30_000, interval: 50 }).toBe(0);
    // Reconciled: the replaced allocation's old slice (its key, no longer its placement) is released
    // in the registers; the lost allocation keeps its slice until its tenant releases it.
    const victimSlices = () =>
      victimAdapters.flatMap((id) => activeSlices(uriOf(id)).map((s) => `${id}#${s.entry}@${s.base}`)).sort();
    const lostSlices = fail.resources[0]!.placements.map((p) => `${p.adapter}#${p.slice}@${p.offset}`).sort();
    await expect.poll(victimSlices, { timeout: 30_000, interval: 50 }).toEqual(lostSlices);
    await grm.release('t', fail.id);
    expect(victimSlices()).toEqual([]);
    console.log(
      `agent restart: rejoined and reconciled ${(performance.now() - restartedAt).toFixed(0)} ms after it was started again`,
    );
    // And the pool takes new slices on the returned server again.
    const fresh = await grm.allocate('t', {
      resources: [{ kind: 'memory', bytes: 100 * MiB }],
    });
    expect(fresh.resources[0]!.placements.map((p) => serverOf(p.adapter))).toContain(server);
    for (const p of fresh.resources[0]!.placements)
      expect(activeSlices(uriOf(p.adapter)).map((s) => [s.entry, s.base, s.length])).toContainEqual([
        p.slice,
        p.offset,
        p.bytes,
      ]);
  });
});
