// GRM replicas under faults (docs/cluster.md, "GRM replicas"), all real processes on 127.0.0.1: one etcd,
// one agent that owns the adapters and registers in etcd, and two `serve --etcd --agents-from-etcd`
// replicas. Clients allocate and free on both; every operation is recorded and the history is checked
// (test/helpers/history.ts) against the adapters' slice tables read from their registers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, rawRange, startEtcd } from '../helpers/etcd.js';
import { checkHistory, History, type MemoryPlacement } from '../helpers/history.js';
import { Prng } from '../helpers/prng.js';
import type { Served } from '../helpers/serve.js';
import {
  call,
  candidates,
  kill,
  listed,
  placementsOf,
  type ReplicaCluster,
  sleep,
  startReplicaCluster,
} from './replica-cluster.js';

const MiB = 1024 * 1024;
const LEADER_TTL_SECONDS = 2;
const STALE_INTENT_MS = 3000;
/** How long past its minimum the traffic may run to reach its count (the test's time bound covers it). */
const TRAFFIC_BOUND_MS = 20_000;

/**
 * One client: allocates 1-4 MiB and frees what it holds, on its preferred replica first and on the other
 * when that one does not answer (or answers 5xx). Runs until `until()` is true.
 */
async function client(
  name: string,
  history: History,
  replicas: () => Served[],
  prefer: number,
  prng: Prng,
  until: () => boolean,
): Promise<void> {
  const held: string[] = [];
  const attempt = async <T extends { outcome: string }>(op: (url: string) => Promise<T>): Promise<T> => {
    let last: T | undefined;
    const urls = replicas().map((s) => s.url);
    for (let k = 0; k < urls.length; k++) {
      last = await op(urls[(prefer + k) % urls.length]!);
      if (last.outcome !== 'unknown') return last;
    }
    return last!;
  };
  while (!until()) {
    if (held.length > 0 && (held.length >= 3 || prng.next() < 0.45)) {
      const id = held.splice(Math.floor(prng.next() * held.length), 1)[0]!;
      await attempt((url) =>
        history.release(name, id, async () => call(url, 'DELETE', `/v1/allocations/${id}`)),
      );
    } else {
      const bytes = (1 + Math.floor(prng.next() * 4)) * MiB;
      const op = await attempt((url) =>
        history.allocate(name, async () => {
          const r = await call(url, 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes }] });
          return r.status === 201
            ? { status: 201, id: r.body!.id as string, placements: placementsOf(r.body!) }
            : { status: r.status };
        }),
      );
      if (op.outcome === 'ok') held.push(op.id!);
    }
  }
}

/** Lets the clients run at least `minMs`, then until `enough()` (at most TRAFFIC_BOUND_MS more). */
async function trafficFor(minMs: number, enough: () => boolean): Promise<void> {
  await sleep(minMs);
  const until = Date.now() + TRAFFIC_BOUND_MS;
  while (!enough() && Date.now() < until) await sleep(100);
}

/** Waits until the history checks clean against a live replica's list and the registers (or the deadline). */
async function settledViolations(cluster: ReplicaCluster, history: History, url: string, deadlineMs: number) {
  let violations: string[] = [];
  const until = Date.now() + deadlineMs;
  do {
    violations = checkHistory(history.ops, { listed: await listed(url), registers: cluster.registers() });
    if (violations.length === 0) break;
    await sleep(500);
  } while (Date.now() < until);
  return violations;
}

describe('GRM replicas under faults', () => {
  let etcd: EtcdCluster;
  let cluster: ReplicaCluster;

  beforeAll(async () => {
    etcd = await startEtcd(1);
    cluster = await startReplicaCluster(etcd, {
      replicas: 2,
      adapters: 2,
      memory: '64M',
      leaderTtlSeconds: LEADER_TTL_SECONDS,
      staleIntentMs: STALE_INTENT_MS,
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    await etcd?.stop();
  });

  it('kill -9 of the leader while clients allocate and free on both: no acknowledgement lost, no slice granted twice, the other replica leads within the TTL', async () => {
    const history = new History();
    const live = () =>
      cluster.replicas.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
    // Which replica leads: the election's only candidate once both campaigned is the oldest key's.
    let pids = await candidates(etcd);
    for (let i = 0; i < 50 && pids.length < 2; i++) {
      await sleep(100); // the second replica's campaign key is put in the background
      pids = await candidates(etcd);
    }
    expect(pids.length).toBe(2);
    const leader = cluster.replicas.find((s) => s.child.pid === pids[0])!;
    const survivor = cluster.replicas.find((s) => s !== leader)!;
    let stop = false;
    const clients = Array.from({ length: 4 }, (_, i) =>
      client(`c${i}`, history, live, i % 2, new Prng(0x12a + i), () => stop),
    );
    const acknowledgedNow = () =>
      history.ops.filter((o) => o.kind === 'allocate' && o.outcome === 'ok').length;
    // Traffic on both replicas for 2.5 s and at least 6 acknowledgements before the kill: a count, not
    // only a time (under load an allocation through HTTP, the agent and etcd can take most of a second).
    await trafficFor(2500, () => acknowledgedNow() > 5);
    const acknowledgedBefore = acknowledgedNow();
    const killedAtMs = Date.now();
    await kill(leader.child, 'SIGKILL');
    // The survivor is the only candidate once the dead leader's lease expired.
    let takeoverMs = Number.POSITIVE_INFINITY;
    while (Date.now() - killedAtMs < (LEADER_TTL_SECONDS + 3) * 1000) {
      const now = await candidates(etcd);
      if (now.length === 1 && now[0] === survivor.child.pid) {
        takeoverMs = Date.now() - killedAtMs;
        break;
      }
      await sleep(100);
    }
    // Likewise after the takeover: the survivor serves at least 6 more.
    await trafficFor(2500, () => acknowledgedNow() > acknowledgedBefore + 5);
    stop = true;
    await Promise.all(clients);
    const acknowledged = acknowledgedNow();
    expect(acknowledgedBefore).toBeGreaterThan(5);
    expect(acknowledged).toBeGreaterThan(acknowledgedBefore + 5); // the survivor kept serving
    expect(takeoverMs).toBeLessThanOrEqual((LEADER_TTL_SECONDS + 1) * 1000);
    // The survivor (now the leader) rolls back what the dead one left half done; then the history holds.
    const violations = await settledViolations(cluster, history, survivor.url, STALE_INTENT_MS + 8000);
    expect(violations).toEqual([]);
    // The registers hold exactly the live allocations' slices (checked above): not vacuous.
    expect(cluster.registers().length).toBe([...(await listed(survivor.url)).values()].flat().length);
  }, 120_000);

  it('a replica frozen with SIGSTOP while the other commits cannot overwrite the newer state when resumed', async () => {
    const running = () =>
      cluster.replicas.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
    if (running().length < 2) await cluster.startReplica();
    const [a, b] = running() as [Served, Served];
    const history = new History();
    const body = { resources: [{ kind: 'memory', bytes: 2 * MiB }] };
    const allocateOn = (s: Served, who: string) =>
      history.allocate(who, async () => {
        const r = await call(s.url, 'POST', '/v1/allocations', body, 20_000);
        return r.status === 201
          ? { status: 201, id: r.body!.id as string, placements: placementsOf(r.body!) }
          : { status: r.status };
      });
    const x = await allocateOn(a, 'a');
    expect(x.outcome).toBe('ok');
    await sleep(300); // b learns x (watch)
    a.child.kill('SIGSTOP');
    try {
      // Sent to the frozen replica: served only after SIGCONT, on the view it had when frozen.
      const staleResize = call(
        a.url,
        'PATCH',
        `/v1/allocations/${x.id}`,
        { resource: 0, bytes: 4 * MiB },
        30_000,
      );
      const staleAllocations = [allocateOn(a, 'a'), allocateOn(a, 'a')];
      // Meanwhile b releases x and allocates the freed space and more.
      const released = await history.release('b', x.id!, () =>
        call(b.url, 'DELETE', `/v1/allocations/${x.id}`),
      );
      expect(released.outcome).toBe('ok');
      for (let i = 0; i < 6; i++) expect((await allocateOn(b, 'b')).outcome).toBe('ok');
      a.child.kill('SIGCONT');
      const resized = await staleResize;
      // The resize of a released allocation is refused: 404 once the watch told a, 409 when its store write
      // lost the compare, 502 when the adapter refused first (the slice is not x's any more).
      expect([404, 409, 502]).toContain(resized.status);
      await Promise.all(staleAllocations);
    } finally {
      a.child.kill('SIGCONT');
    }
    // etcd holds no x: the resumed replica did not write it back.
    const held = await rawRange(etcd.endpoints[0]!, '/rafabric/v1/allocations/');
    expect(held.map((kv) => kv.key)).not.toContain(`/rafabric/v1/allocations/${x.id}`);
    expect(await settledViolations(cluster, history, b.url, STALE_INTENT_MS + 8000)).toEqual([]);
    // Both replicas list the same allocations once a has caught up.
    await sleep(500);
    expect([...(await listed(a.url)).keys()].sort()).toEqual([...(await listed(b.url)).keys()].sort());
    const placements: MemoryPlacement[] = [...(await listed(b.url)).values()].flat();
    expect(placements.length).toBeGreaterThanOrEqual(6);
  });
});
