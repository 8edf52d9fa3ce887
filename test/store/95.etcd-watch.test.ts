// Two EtcdStore instances (two GRM replicas) on one real etcd: each one's view follows the other's writes
// through the watch, listeners hear other writers' changes only (never their own), and a re-read merges by
// revision instead of moving the view back. What etcd holds is read through its own gateway.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore, type StoreChange } from '../../src/store/etcd-store.js';
import { type EtcdCluster, rawPut, rawRange, startEtcd } from '../helpers/etcd.js';
import { allocation, intent } from './helpers.js';

const newPrefix = () => `/test-${randomUUID()}/`;

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('EtcdStore replicas following each other (watch)', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd(1);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  async function pair(prefix = newPrefix()) {
    const a = await EtcdStore.open({ endpoints: etcd.endpoints, keyPrefix: prefix });
    const b = await EtcdStore.open({ endpoints: etcd.endpoints, keyPrefix: prefix });
    const heard = { a: [] as StoreChange[], b: [] as StoreChange[] };
    a.onChange((c) => heard.a.push(c));
    b.onChange((c) => heard.b.push(c));
    await a.watch();
    await b.watch();
    return { a, b, heard, prefix };
  }

  it("one replica's intent, commit and removal reach the other's view and listeners; its own are not heard", async () => {
    const { a, b, heard } = await pair();
    try {
      await a.recordIntent(intent('x1'));
      await until('b sees the intent', () => b.load().intents.has('x1'));
      await a.commit(allocation('x1'));
      await until(
        'b sees the allocation',
        () => b.load().allocations.has('x1') && !b.load().intents.has('x1'),
      );
      expect(b.load().allocations.get('x1')).toEqual(allocation('x1'));
      expect(b.revisionOf('x1')).toBe(a.revisionOf('x1'));
      // b, now current, removes it without naming a revision: its compare holds.
      await b.remove('x1');
      await until('a sees the removal', () => !a.load().allocations.has('x1'));
      // An own write may be heard too when the watch delivers it before the transaction's answer.
      expect(heard.b.slice(0, 3).map((c) => [c.kind, c.id, c.value === undefined])).toEqual([
        ['intent', 'x1', false],
        ['allocation', 'x1', false],
        ['intent', 'x1', true],
      ]);
      expect(heard.a.map((c) => [c.kind, c.id, c.value === undefined])).toContainEqual([
        'allocation',
        'x1',
        true,
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a stale replica loses its write even after the watch: what it learns moves its view forward only', async () => {
    const { a, b, prefix } = await pair();
    try {
      await a.recordIntent(intent('x2'));
      await a.commit(allocation('x2'));
      await until('b sees x2', () => b.load().allocations.has('x2'));
      const seenByB = b.revisionOf('x2')!;
      await a.update(allocation('x2', { state: 'lost' }));
      // b's write names the revision it decided on: it loses, and etcd keeps a's.
      await expect(b.remove('x2', { expectedRevision: seenByB })).rejects.toMatchObject({
        code: 'STALE_REVISION',
      });
      const kvs = await rawRange(etcd.endpoints[0]!, `${prefix}allocations/`);
      expect(kvs.map((kv) => JSON.parse(kv.value).state)).toEqual(['lost']);
      // A full re-read merges: b's view has a's update and keeps it.
      await b.refresh();
      expect(b.load().allocations.get('x2')?.state).toBe('lost');
      expect(b.revisionOf('x2')).toBe(a.revisionOf('x2'));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a value written behind the stores' back that cannot be trusted is not taken from the watch", async () => {
    const { a, b, prefix } = await pair();
    try {
      await rawPut(etcd.endpoints[0]!, `${prefix}allocations/bad`, '{"id": "bad"}');
      await a.recordIntent(intent('x3'));
      await until('b sees x3 (after the bad value)', () => b.load().intents.has('x3'));
      expect(b.load().allocations.has('bad')).toBe(false);
      expect(b.load().diagnostics.warnings.some((w) => w.includes(`${prefix}allocations/bad`))).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
