// Grants on GRM replicas sharing etcd (issue 13; docs/access.md, "Grants in the store"): the windows of
// an allocation's grants are recorded in its etcd record, so the other replica answers the same grants,
// and after the leader is killed (-9) the replica that leads next answers them too and revokes them
// on release: the window's own TW_STATE reads REVOKED and a job through it fails with GRANT_REVOKED.
// The record names the windows but holds no window file (the capability). Real processes on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Instance } from '../../src/client/index.js';
import type { Allocation } from '../../src/common/model.js';
import { addon } from '../../src/driver/native.js';
import { Tw, TwState } from '../../src/driver/regs.js';
import { type EtcdCluster, rawRange, startEtcd } from '../helpers/etcd.js';
import {
  call,
  candidates,
  kill,
  type ReplicaCluster,
  sleep,
  startReplicaCluster,
} from './replica-cluster.js';

const MiB = 1024 * 1024;
const LEADER_TTL_SECONDS = 2;

describe('grants on GRM replicas (etcd)', () => {
  let etcd: EtcdCluster;
  let cluster: ReplicaCluster;

  beforeAll(async () => {
    etcd = await startEtcd(1);
    cluster = await startReplicaCluster(etcd, {
      replicas: 2,
      adapters: 2,
      leaderTtlSeconds: LEADER_TTL_SECONDS,
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    await etcd?.stop();
  });

  it('the other replica answers the same grants; after the leader is killed the next leader revokes them on release', async () => {
    let pids = await candidates(etcd);
    for (let i = 0; i < 50 && pids.length < 2; i++) {
      await sleep(100); // the second replica's campaign key is put in the background
      pids = await candidates(etcd);
    }
    expect(pids.length).toBe(2);
    const leader = cluster.replicas.find((s) => s.child.pid === pids[0])!;
    const survivor = cluster.replicas.find((s) => s !== leader)!;

    const created = await call(leader.url, 'POST', '/v1/allocations', {
      resources: [
        { kind: 'memory', bytes: 4 * MiB },
        { kind: 'accelerator', function: 'sha256' },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = String(created.body!.id);
    const granted = await call(leader.url, 'GET', `/v1/allocations/${id}/grants`);
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    const view = granted.body as unknown as Allocation;
    const [mem, sha] = view.resources.map((r) => r.placements[0]!);
    const windowFile = mem!.grant!.window;

    // The record in etcd names the windows, not their files.
    const [kv] = await rawRange(etcd.endpoints[0]!, `/rafabric/v1/allocations/${id}`);
    const record = JSON.parse(kv!.value) as { windows?: { adapter: string; window: number }[] };
    expect(record.windows?.map((w) => w.window)).toContain(mem!.grant!.windowIndex);
    expect(kv!.value).not.toContain(windowFile.slice(windowFile.lastIndexOf('/') + 1));

    // The other replica answers the same grants (once its view has the record).
    let other = await call(survivor.url, 'GET', `/v1/allocations/${id}/grants`);
    for (let i = 0; i < 50 && other.status === 404; i++) {
      await sleep(100);
      other = await call(survivor.url, 'GET', `/v1/allocations/${id}/grants`);
    }
    expect(JSON.stringify(other.body)).toBe(JSON.stringify(granted.body));

    const m = new (addon().HostMapping)(windowFile, 0, Tw.BYTES, false);
    const windowState = () => new Uint32Array(m.buffer)[Tw.STATE / 4]!;
    const inst = Instance.open(view);
    try {
      expect(windowState()).toBe(TwState.OPEN);
      await kill(leader.child, 'SIGKILL');
      const killedAtMs = Date.now();
      while (Date.now() - killedAtMs < (LEADER_TTL_SECONDS + 5) * 1000) {
        const now = await candidates(etcd);
        if (now.length === 1 && now[0] === survivor.child.pid) break;
        await sleep(100);
      }
      expect(await candidates(etcd)).toEqual([survivor.child.pid]);

      // The new leader answers the same grants, and the window still works.
      const after = await call(survivor.url, 'GET', `/v1/allocations/${id}/grants`);
      expect(JSON.stringify(after.body)).toBe(JSON.stringify(granted.body));
      const done = await inst.job(sha!, { ...mem!, offset: 0 }, { ...mem!, offset: 2 * MiB }, 4096);
      expect(done.outBytes).toBe(32);

      expect((await call(survivor.url, 'DELETE', `/v1/allocations/${id}`)).status).toBe(204);
      expect(windowState()).toBe(TwState.REVOKED);
      await expect(
        inst.job(sha!, { ...mem!, offset: 0 }, { ...mem!, offset: 2 * MiB }, 4096),
      ).rejects.toMatchObject({ code: 'GRANT_REVOKED' });
    } finally {
      inst.close();
      m.close();
    }
  }, 120_000);
});
