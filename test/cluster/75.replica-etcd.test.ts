// GRM replicas when etcd fails (docs/cluster.md, "GRM replicas"): etcd stopped — writes answer 503
// STORE_UNAVAILABLE, reads answer from the replica's view, service resumes when etcd is back; a 3-member
// etcd cluster that loses its raft leader keeps serving. Every operation is recorded and checked against the
// adapters' registers (test/helpers/history.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { type EtcdCluster, leaderIndex, startEtcd } from '../helpers/etcd.js';
import { checkHistory, History } from '../helpers/history.js';
import {
  call,
  listed,
  placementsOf,
  type ReplicaCluster,
  sleep,
  startReplicaCluster,
} from './replica-cluster.js';

const MiB = 1024 * 1024;
const body = { resources: [{ kind: 'memory', bytes: 2 * MiB }] };

function allocateOn(history: History, url: string, who = 'c') {
  return history.allocate(who, async () => {
    const r = await call(url, 'POST', '/v1/allocations', body, 15_000);
    return r.status === 201
      ? { status: 201, id: r.body!.id as string, placements: placementsOf(r.body!) }
      : { status: r.status };
  });
}

/** Allocates on `url` until one is acknowledged (or the deadline): how long service took to resume. */
async function firstSuccessMs(history: History, url: string, deadlineMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if ((await allocateOn(history, url)).outcome === 'ok') return Date.now() - start;
    await sleep(200);
  }
  return Number.POSITIVE_INFINITY;
}

/** Bound on a replica's view catching up with another's after etcd returns (watch backoff + re-reads). */
const CONVERGE_MS = 10_000;

/** Ms until both replicas list the same allocations (Infinity if they still differ after `deadlineMs`). */
async function untilViewsAgree(a: string, b: string, deadlineMs: number): Promise<number> {
  const start = Date.now();
  const keys = async (url: string) => [...(await listed(url)).keys()].sort().join(',');
  while (Date.now() - start < deadlineMs) {
    if ((await keys(a)) === (await keys(b))) return Date.now() - start;
    await sleep(100);
  }
  return Number.POSITIVE_INFINITY;
}

describe('GRM replicas when etcd fails', () => {
  let etcd: EtcdCluster | undefined;
  let cluster: ReplicaCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    await etcd?.stop();
    cluster = undefined;
    etcd = undefined;
  });

  it('etcd stopped: writes answer 503 STORE_UNAVAILABLE on every replica, reads answer from the view, service resumes when etcd is back', async () => {
    etcd = await startEtcd(1);
    cluster = await startReplicaCluster(etcd, { replicas: 2 });
    const [a, b] = cluster.replicas as unknown as [{ url: string }, { url: string }];
    const history = new History();
    const first = await allocateOn(history, a.url);
    expect(first.outcome).toBe('ok');
    await sleep(300);
    await etcd.members[0]!.stop('SIGKILL');
    for (const replica of [a, b]) {
      const refused = await call(replica.url, 'POST', '/v1/allocations', body, 15_000);
      expect(refused.status).toBe(503);
      expect((refused.body!.error as { code: string }).code).toBe('STORE_UNAVAILABLE');
      const freeing = await call(replica.url, 'DELETE', `/v1/allocations/${first.id}`, undefined, 15_000);
      expect(freeing.status).toBe(503);
      // Reads say what the replica knows: the allocation acknowledged before etcd stopped.
      expect([...(await listed(replica.url)).keys()]).toEqual([first.id]);
      expect((await call(replica.url, 'GET', `/v1/allocations/${first.id}`)).status).toBe(200);
      expect((await call(replica.url, 'GET', '/healthz')).status).toBe(503);
    }
    // The refused writes changed nothing on the adapters: only the first allocation's slice is there.
    expect(cluster.registers()).toHaveLength(1);
    etcd.members[0]!.start();
    await etcd.members[0]!.waitHealthy();
    for (const replica of [a, b])
      expect(await firstSuccessMs(history, replica.url, 20_000)).toBeLessThan(20_000);
    const freed = await history.release('c', first.id!, () =>
      call(b.url, 'DELETE', `/v1/allocations/${first.id}`),
    );
    expect(freed.outcome).toBe('ok');
    // Replica a hears b's writes through its watch, which etcd's restart broke: the watch reconnects
    // with backoff and a's once-a-second re-read of the store bounds the wait. Its view must agree
    // with b's within CONVERGE_MS (measured: well under it), and then the history must check out.
    const convergedMs = await untilViewsAgree(a.url, b.url, CONVERGE_MS);
    console.log(`replica views agreed ${convergedMs} ms after the last write`);
    expect(convergedMs).toBeLessThan(CONVERGE_MS);
    expect(
      checkHistory(history.ops, { listed: await listed(a.url), registers: cluster.registers() }),
    ).toEqual([]);
    expect([...(await listed(a.url)).keys()].sort()).toEqual([...(await listed(b.url)).keys()].sort());
  });

  it('a 3-member etcd cluster that loses its raft leader keeps serving both replicas', async () => {
    etcd = await startEtcd(3);
    cluster = await startReplicaCluster(etcd, { replicas: 2 });
    const [a, b] = cluster.replicas as unknown as [{ url: string }, { url: string }];
    const history = new History();
    for (const replica of [a, b]) expect((await allocateOn(history, replica.url)).outcome).toBe('ok');
    await etcd.members[await leaderIndex(etcd)]!.stop('SIGKILL');
    // A call in flight at the kill may fail at its deadline; service goes on after etcd's election.
    for (const replica of [a, b])
      expect(await firstSuccessMs(history, replica.url, 15_000)).toBeLessThan(15_000);
    // Each further allocation succeeds within a few seconds (a call the client sent to the dead member
    // first fails over to another one).
    for (let i = 0; i < 4; i++)
      expect(await firstSuccessMs(history, i % 2 ? a.url : b.url, 5000)).toBeLessThan(5000);
    await sleep(500);
    expect(
      checkHistory(history.ops, { listed: await listed(a.url), registers: cluster.registers() }),
    ).toEqual([]);
    expect((await listed(b.url)).size).toBe((await listed(a.url)).size);
  });
});
