// The cluster store on a real etcd (test/helpers/etcd.ts starts it on 127.0.0.1): the same operation cases
// as the journal and memory stores, two replicas racing on one etcd (compare-and-swap), etcd stopped and
// restarted, and a 3-member cluster losing its leader. What etcd holds is read back through etcd's own
// JSON gateway, not through the store or its npm client.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore, MAX_VALUE_BYTES } from '../../src/store/etcd-store.js';
import { type EtcdCluster, leaderIndex, rawPut, rawRange, startEtcd } from '../helpers/etcd.js';
import { client, serve, serveFails, stop } from '../helpers/serve.js';
import { allocation, intent, plain } from './helpers.js';
import { codeOf, describeOperations } from './operations-cases.js';

/** A key prefix of its own for each store under test, so tests share one etcd without seeing each other. */
const freshPrefix = () => `/rafabric-test/${randomUUID()}/`;

/**
 * What etcd holds under `prefix`: allocation and intent values by id, parsed (the replicas' election keys
 * and agents' registrations share the prefix: not allocations, left out).
 */
async function held(endpoint: string, prefix: string) {
  const kvs = [
    ...(await rawRange(endpoint, `${prefix}allocations/`)),
    ...(await rawRange(endpoint, `${prefix}intents/`)),
  ];
  const out: { allocations: Record<string, unknown>; intents: Record<string, unknown> } = {
    allocations: {},
    intents: {},
  };
  for (const kv of kvs) {
    const [kind, id] = kv.key.slice(prefix.length).split('/') as ['allocations' | 'intents', string];
    out[kind][id] = JSON.parse(kv.value);
  }
  return out;
}

describe('EtcdStore on one etcd member', () => {
  let etcd: EtcdCluster;
  const opened: EtcdStore[] = [];
  const open = async (keyPrefix = freshPrefix(), deadlineMs = 2000) => {
    const store = await EtcdStore.open({ endpoints: etcd.endpoints, keyPrefix, deadlineMs });
    opened.push(store);
    return store;
  };

  beforeAll(async () => {
    etcd = await startEtcd(1);
  }, 30_000);

  afterAll(async () => {
    for (const store of opened) await store.close();
    await etcd?.stop();
  });

  describeOperations('EtcdStore', () => open());

  it('keeps what it acknowledged in etcd, under /allocations/<id> and /intents/<id>, and reopens with it', async () => {
    const prefix = freshPrefix();
    const store = await open(prefix);
    await store.recordIntent(intent('i1'));
    await store.recordIntent(intent('a1'));
    await store.commit(allocation('a1'));
    await store.commit(allocation('a2'));
    await store.remove('a2');
    expect(await held(etcd.endpoints[0]!, prefix)).toEqual({
      allocations: { a1: allocation('a1') },
      intents: { i1: intent('i1') },
    });
    const kvs = await rawRange(etcd.endpoints[0]!, prefix);
    expect(kvs.map((kv) => kv.key).sort()).toEqual([`${prefix}allocations/a1`, `${prefix}intents/i1`]);
    expect(store.revisionOf('a1')).toBe(kvs.find((kv) => kv.key.endsWith('a1'))!.modRevision);
    const again = await open(prefix);
    expect(plain(again.load())).toEqual(plain(store.load()));
    expect(again.revisionOf('a1')).toBe(store.revisionOf('a1'));
  });

  it('commitAll (a gang): one transaction commits every member; one member taken by another replica refuses all', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix);
    for (const id of ['g1', 'g2', 'g3']) await a.recordIntent(intent(id));
    await a.commitAll([allocation('g1'), allocation('g2'), allocation('g3')]);
    expect(await held(etcd.endpoints[0]!, prefix)).toEqual({
      allocations: { g1: allocation('g1'), g2: allocation('g2'), g3: allocation('g3') },
      intents: {},
    });
    // Each member's revision is the one transaction's.
    expect(new Set(['g1', 'g2', 'g3'].map((id) => a.revisionOf(id))).size).toBe(1);
    // A second gang whose member h2 another replica commits first: nothing of the gang is committed.
    for (const id of ['h1', 'h2']) await a.recordIntent(intent(id));
    const b = await open(prefix);
    await b.commit(allocation('h2', { tenant: intent('h2').tenant }));
    const before = await held(etcd.endpoints[0]!, prefix);
    expect(await codeOf(() => a.commitAll([allocation('h1'), allocation('h2')]))).toMatch(
      /^(STORE_CONFLICT|STALE_REVISION)$/,
    );
    expect(await held(etcd.endpoints[0]!, prefix)).toEqual(before);
    expect(before.intents).toEqual({ h1: intent('h1') });
  });

  it('two replicas: a stale update or remove loses with STALE_REVISION and changes nothing in etcd', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix);
    const b = await open(prefix);
    await a.commit(allocation('a1'));
    await b.refresh();
    expect(b.revisionOf('a1')).toBe(a.revisionOf('a1'));
    // A changes it; B still has the revision from before A's write.
    await a.update(allocation('a1', { state: 'lost' }));
    const afterA = await held(etcd.endpoints[0]!, prefix);
    expect(await codeOf(() => b.update(allocation('a1', { state: 'released' })))).toBe('STALE_REVISION');
    expect(await codeOf(() => b.remove('a1', { expectedRevision: b.revisionOf('a1')! - 1 }))).toBe(
      'STALE_REVISION',
    );
    expect(await held(etcd.endpoints[0]!, prefix)).toEqual(afterA);
    // The lost write taught B what etcd holds: deciding again on it succeeds.
    expect(b.load().allocations.get('a1')!.state).toBe('lost');
    expect(b.revisionOf('a1')).toBe(a.revisionOf('a1'));
    await b.update(allocation('a1', { state: 'released' }));
    // Now A is the stale one; its remove loses too.
    expect(await codeOf(() => a.remove('a1'))).toBe('STALE_REVISION');
    expect((await held(etcd.endpoints[0]!, prefix)).allocations).toEqual({
      a1: allocation('a1', { state: 'released' }),
    });
  });

  it('two replicas recording one id: exactly one intent wins, the other hears CONFLICT', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix);
    const b = await open(prefix);
    const results = await Promise.allSettled([
      a.recordIntent(intent('x1', { tenant: 'tenant-a' })),
      b.recordIntent(intent('x1', { tenant: 'tenant-b' })),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason.code).toBe('STORE_CONFLICT');
    const stored = (await held(etcd.endpoints[0]!, prefix)).intents.x1 as { tenant: string };
    expect(stored.tenant).toBe(results[0]!.status === 'fulfilled' ? 'tenant-a' : 'tenant-b');
  });

  it('a commit whose intent another replica aborted loses, and the allocation is not created', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix);
    const b = await open(prefix);
    await a.recordIntent(intent('c1'));
    await b.refresh();
    await b.abortIntent('c1');
    expect(await codeOf(() => a.commit(allocation('c1')))).toBe('STALE_REVISION');
    expect(await held(etcd.endpoints[0]!, prefix)).toEqual({ allocations: {}, intents: {} });
  });

  it(`refuses a record over ${MAX_VALUE_BYTES} bytes (INVALID_ARGUMENT) and stores nothing`, async () => {
    const prefix = freshPrefix();
    const store = await open(prefix);
    const placements = Array.from({ length: 2000 }, (_, i) => ({
      adapter: 'ra0',
      slice: i,
      offset: 0,
      bytes: 1,
    }));
    const big = allocation('big', { resources: [{ kind: 'memory', bytes: 2000, placements }] });
    await expect(store.commit(big)).rejects.toThrow(/at most 65536 bytes per record/);
    expect(await codeOf(() => store.commit(big))).toBe('STORE_INVALID_ARGUMENT');
    expect(await rawRange(etcd.endpoints[0]!, prefix)).toEqual([]);
  });

  it('refuses to open on a value that is not a valid allocation (CORRUPT, naming the key)', async () => {
    const prefix = freshPrefix();
    await rawPut(
      etcd.endpoints[0]!,
      `${prefix}allocations/a1`,
      JSON.stringify({ ...allocation('a1'), ownerKey: 'x' }),
    );
    await expect(EtcdStore.open({ endpoints: etcd.endpoints, keyPrefix: prefix })).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringContaining(`${prefix}allocations/a1`),
    });
    await rawPut(etcd.endpoints[0]!, `${prefix}allocations/a1`, JSON.stringify(allocation('a2')));
    await expect(EtcdStore.open({ endpoints: etcd.endpoints, keyPrefix: prefix })).rejects.toThrow(
      /holds id a2/,
    );
  });

  it('refuses endpoints that are not http://HOST:PORT, with what to give', async () => {
    for (const endpoints of [[], ['127.0.0.1:2379'], ['https://127.0.0.1:2379'], ['http://127.0.0.1']]) {
      await expect(EtcdStore.open({ endpoints })).rejects.toMatchObject({ code: 'STORE_INVALID_ARGUMENT' });
    }
  });
});

describe('EtcdStore while etcd is down', () => {
  it('writes refuse with STORE_UNAVAILABLE within the deadline, reads say what they can, and service resumes with nothing acknowledged lost', async () => {
    const etcd = await startEtcd(1);
    const prefix = freshPrefix();
    const deadlineMs = 1000;
    const store = await EtcdStore.open({ endpoints: etcd.endpoints, keyPrefix: prefix, deadlineMs });
    try {
      const acknowledged: string[] = [];
      for (let i = 0; i < 20; i++) {
        await store.commit(allocation(`a${i}`));
        acknowledged.push(`a${i}`);
      }
      await etcd.members[0]!.stop('SIGKILL');

      const started = performance.now();
      const err = await store.commit(allocation('during')).catch((e: unknown) => e);
      const elapsedMs = performance.now() - started;
      expect(err).toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringMatching(/did not answer/),
      });
      expect(elapsedMs).toBeLessThan(deadlineMs + 500);
      for (const write of [
        () => store.update(allocation('a0', { state: 'lost' })),
        () => store.remove('a1'),
      ]) {
        const t0 = performance.now();
        expect(await codeOf(write)).toBe('STORE_UNAVAILABLE');
        expect(performance.now() - t0).toBeLessThan(deadlineMs + 500);
      }
      expect(store.health()).toMatchObject({ writable: false, problem: expect.stringMatching(/etcd at/) });
      // Reads: what this replica last saw is still there; a fresh read says etcd is out of reach.
      expect([...store.load().allocations.keys()].sort()).toEqual([...acknowledged].sort());
      expect(await codeOf(() => store.refresh())).toBe('STORE_UNAVAILABLE');

      etcd.members[0]!.start();
      await etcd.members[0]!.waitHealthy();
      // health() probes etcd by itself (no write needed) and turns writable again.
      const healthStarted = performance.now();
      while (!store.health().writable) {
        expect(performance.now() - healthStarted).toBeLessThan(15_000);
        await new Promise((r) => setTimeout(r, 200));
      }
      // The client reconnects by itself; a host's circuit breaker retries after at most 5 s.
      const resumeStarted = performance.now();
      for (;;) {
        const code = await codeOf(() => store.commit(allocation('after')));
        if (code === undefined) break;
        expect(code).toBe('STORE_UNAVAILABLE');
        expect(performance.now() - resumeStarted).toBeLessThan(15_000);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(store.health()).toEqual({ writable: true });
      const stored = await held(etcd.endpoints[0]!, prefix);
      expect(Object.keys(stored.allocations).sort()).toEqual([...acknowledged, 'after'].sort());
      for (const id of acknowledged) expect(stored.allocations[id]).toEqual(allocation(id));
      expect(stored.allocations.during).toBeUndefined();
    } finally {
      await store.close();
      await etcd.stop();
    }
  }, 60_000);
});

describe('EtcdStore while etcd hangs (SIGSTOP)', () => {
  it('every call ends at its deadline with STORE_UNAVAILABLE saying the write may still apply; SIGCONT: writes resume', async () => {
    const etcd = await startEtcd(1);
    const prefix = freshPrefix();
    const deadlineMs = 800;
    const store = await EtcdStore.open({ endpoints: etcd.endpoints, keyPrefix: prefix, deadlineMs });
    const member = etcd.members[0]!;
    try {
      await store.commit(allocation('a0'));
      member.process!.kill('SIGSTOP');
      for (const [call, says] of [
        [() => store.commit(allocation('a1')), /did not answer within 800 ms.*may still apply/s],
        [() => store.refresh(), /reading the store: etcd at .* did not answer/],
      ] as const) {
        const started = performance.now();
        const err = await (call() as Promise<unknown>).catch((e: unknown) => e);
        const elapsedMs = performance.now() - started;
        expect(err).toMatchObject({
          code: 'STORE_UNAVAILABLE',
          message: expect.stringMatching(says),
        });
        expect(elapsedMs).toBeLessThan(deadlineMs + 700);
      }
      const hung = await store.update(allocation('a0', { state: 'lost' })).catch((e: unknown) => e);
      expect(hung).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      member.process!.kill('SIGCONT');
      const started = performance.now();
      for (;;) {
        const code = await codeOf(() => store.commit(allocation('a2')));
        if (code === undefined) break;
        expect(performance.now() - started).toBeLessThan(15_000);
        await new Promise((r) => setTimeout(r, 200));
      }
      const stored = await held(etcd.endpoints[0]!, prefix);
      expect(stored.allocations.a0).toBeDefined();
      expect(stored.allocations.a2).toEqual(allocation('a2'));
    } finally {
      member.process?.kill('SIGCONT');
      await store.close();
      await etcd.stop();
    }
  }, 60_000);
});

describe('EtcdStore on a 3-member etcd cluster', () => {
  it('keeps serving writes when the leader is killed, and every acknowledged write is on the survivors', async () => {
    const etcd = await startEtcd(3);
    const prefix = freshPrefix();
    const store = await EtcdStore.open({ endpoints: etcd.endpoints, keyPrefix: prefix, deadlineMs: 3000 });
    try {
      for (let i = 0; i < 10; i++) await store.commit(allocation(`before${i}`));
      const leader = await leaderIndex(etcd);
      await etcd.members[leader]!.stop('SIGKILL');
      // A new leader is elected within etcd's election timeout (1 s by default); writes may fail
      // (STORE_UNAVAILABLE, never anything else) only until then.
      const started = performance.now();
      const acknowledged: string[] = [];
      const failures: string[] = [];
      for (let i = 0; i < 30; i++) {
        const id = `after${i}`;
        const code = await codeOf(() => store.commit(allocation(id)));
        if (code === undefined) acknowledged.push(id);
        else failures.push(`${id}: ${code} at ${Math.round(performance.now() - started)} ms`);
      }
      expect(failures.every((f) => f.includes('STORE_UNAVAILABLE'))).toBe(true);
      expect(acknowledged.length).toBeGreaterThanOrEqual(25);
      expect(acknowledged).toContain('after29');
      const survivor = etcd.members.find((m) => m.running)!;
      const stored = await held(survivor.clientUrl, prefix);
      for (const id of [...Array.from({ length: 10 }, (_, i) => `before${i}`), ...acknowledged]) {
        expect(stored.allocations[id]).toEqual(allocation(id));
      }
    } finally {
      await store.close();
      await etcd.stop();
    }
  }, 60_000);
});

describe('rafabric serve --etcd', () => {
  it('keeps allocations in etcd; etcd down: 503 STORE_UNAVAILABLE and /healthz 503; back: 201 again', async () => {
    const etcd = await startEtcd(1);
    const endpoint = etcd.endpoints[0]!;
    let served: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      served = await serve([
        '--emulate',
        '2',
        '--memory',
        '64M',
        '--etcd',
        endpoint,
        '--tokens',
        'alice=token-alice-1',
      ]);
      const call = client(served.url, 'token-alice-1');
      const body = { resources: [{ kind: 'memory', bytes: 4 * 2 ** 20 }] };
      const created = await call('POST', '/v1/allocations', body);
      expect(created.status).toBe(201);
      const id = created.body!.id as string;
      const stored = await held(endpoint, '/rafabric/v1/');
      expect(Object.keys(stored.allocations)).toEqual([id]);
      expect(stored.allocations[id]).toMatchObject({ id, tenant: 'alice', state: 'active' });
      expect(stored.intents).toEqual({});

      await etcd.members[0]!.stop('SIGKILL');
      const refused = await call('POST', '/v1/allocations', body);
      expect(refused.status).toBe(503);
      expect(refused.body!.error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      const health = await fetch(`${served.url}/healthz`);
      expect(health.status).toBe(503);
      // Reads answer from what this GRM last saw.
      expect((await call('GET', `/v1/allocations/${id}`)).status).toBe(200);

      etcd.members[0]!.start();
      await etcd.members[0]!.waitHealthy();
      const started = performance.now();
      let again = await call('POST', '/v1/allocations', body);
      while (again.status === 503 && performance.now() - started < 15_000) {
        await new Promise((r) => setTimeout(r, 200));
        again = await call('POST', '/v1/allocations', body);
      }
      expect(again.status).toBe(201);
      expect((await call('DELETE', `/v1/allocations/${id}`)).status).toBeLessThan(300);
      const after = await held(endpoint, '/rafabric/v1/');
      expect(Object.keys(after.allocations)).toEqual([again.body!.id]);
    } finally {
      if (served) await stop(served, 'SIGTERM');
      await etcd.stop();
    }
  }, 90_000);

  it('refuses --repair with --etcd, a malformed endpoint, and an etcd that does not answer, with a clear message', async () => {
    // Three fresh `rafabric serve` processes, each loading the whole CLI before it refuses: `rafabric
    // --version` alone took 8.7 s (1.6 s of CPU) at a load average of 20 on 2 cores, and the three
    // refusals 31 s in sequence. Each had a 20 s bound of its own and the three 60 s: under twice that
    // load either was crossed. They run at once now (30 s measured at the same load), each bounded
    // only by the test's time.
    const boundMs = 80_000;
    const [repair, bad, down] = await Promise.all([
      serveFails(['--etcd', 'http://127.0.0.1:1', '--repair', '--tokens', 'a=token-a-12345'], boundMs),
      serveFails(
        ['--emulate', '1', '--memory', '64M', '--etcd', '127.0.0.1:2379', '--tokens', 'a=token-a-12345'],
        boundMs,
      ),
      // Nothing listens on port 1: the store cannot open, serve says why and exits.
      serveFails(
        ['--emulate', '1', '--memory', '64M', '--etcd', 'http://127.0.0.1:1', '--tokens', 'a=token-a-12345'],
        boundMs,
      ),
    ]);
    expect(repair.code).not.toBe(0);
    expect(repair.stderr).toMatch(/--repair applies to the journal store only/);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/must be http:\/\/HOST:PORT/);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/etcd at http:\/\/127\.0\.0\.1:1 did not answer.*STORE_UNAVAILABLE/s);
  }, 90_000);
});
