// The dashboard's data without a browser: the GRM's event ring, the utilization arithmetic (against
// sums worked by hand from the counters), the feed's readings, what each viewer may see on
// GET /v1/dashboard and /v1/events, and the event stream over a real socket.
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DashboardFeed, type Reading } from '../../src/api/routes/ui-feed.js';
import { UsageHistory } from '../../src/api/routes/ui-usage.js';
import type { DashboardView } from '../../src/api/routes/ui-view.js';
import { type GrmEvent, type GrmEventInput, GrmEventLog } from '../../src/grm/events.js';
import type { DashboardSource, PictureAdapter } from '../../src/grm/picture.js';
import { adapterView } from '../api/fake-grm.js';
import { ALICE, BOB, harness } from '../api/helpers.js';

const MiB = 2 ** 20;
const event = (tenant: string, allocation: string): GrmEventInput => ({
  kind: 'allocated',
  allocation,
  tenant,
  adapters: ['ra0'],
  detail: 'test',
});

describe('GrmEventLog', () => {
  it('keeps the last `capacity` events in order, numbered, and hands out copies', () => {
    const log = new GrmEventLog(3);
    for (let i = 1; i <= 5; i++) log.record(event('alice', `a-${i}`));
    const recent = log.recent();
    expect(recent.map((e) => [e.seq, e.allocation])).toEqual([
      [3, 'a-3'],
      [4, 'a-4'],
      [5, 'a-5'],
    ]);
    recent[0]!.adapters.push('changed');
    expect(log.recent()[0]!.adapters).toEqual(['ra0']);
    expect(() => new GrmEventLog(0)).toThrow(/capacity must be a positive integer/);
  });

  it('tells subscribers until they stop; a subscriber that throws fails nothing', () => {
    const log = new GrmEventLog();
    const seen: number[] = [];
    log.subscribe(() => {
      throw new Error('a broken reader');
    });
    const stop = log.subscribe((e) => seen.push(e.seq));
    expect(() => log.record(event('alice', 'a-1'))).not.toThrow();
    stop();
    log.record(event('alice', 'a-2'));
    expect(seen).toEqual([1]);
  });
});

describe('UsageHistory', () => {
  const reading = (clockNs: number, busy: Record<number, number>): PictureAdapter => ({
    id: 'ra0',
    server: 's',
    health: 'healthy',
    memoryBytes: 0,
    computeUnits: 0,
    clockNs,
    slots: [],
    slices: Object.entries(busy).map(([entry, busyNs]) => ({
      entry: Number(entry),
      kind: 'compute',
      base: 0,
      length: 1,
      busyNs,
    })),
  });

  it("is the growth of the slices' busy ns over the growth of the clock, capped at 100 %", () => {
    const usage = new UsageHistory();
    usage.observe([reading(1e9, { 0: 100e6, 1: 50e6 })], 1000);
    expect(usage.history('ra0')).toEqual([]); // one reading: no interval yet
    // entry 0 grew 200 ms, entry 1 went away, entry 2 is new with 100 ms: 300 ms of 1000.
    usage.observe([reading(2e9, { 0: 300e6, 2: 100e6 })], 2000);
    // entry 0 was released and programmed again (its counter restarted at 10 ms): 10 + 50 of 1000.
    usage.observe([reading(3e9, { 0: 10e6, 2: 150e6 })], 3000);
    // two engines busy all the time: 2000 ms of 1000, shown as 100.
    usage.observe([reading(4e9, { 0: 1010e6, 2: 1150e6 })], 4000);
    usage.observe([reading(4e9, { 0: 1010e6, 2: 1150e6 })], 5000); // the clock did not move: no point
    expect(usage.history('ra0')).toEqual([
      { atMs: 2000, percent: 30 },
      { atMs: 3000, percent: 6 },
      { atMs: 4000, percent: 100 },
    ]);
    usage.observe([], 6000); // the adapter left the pool
    expect(usage.history('ra0')).toEqual([]);
  });

  it('keeps only the last `capacity` points', () => {
    const usage = new UsageHistory(2);
    for (let i = 0; i < 5; i++) usage.observe([reading((i + 1) * 1e9, { 0: i * 100e6 })], i);
    expect(usage.history('ra0').map((p) => p.atMs)).toEqual([3, 4]);
  });
});

describe('DashboardFeed', () => {
  it('reads at once for a new subscriber, again right after a GRM event, and not once nobody listens', async () => {
    const events = new GrmEventLog();
    let reads = 0;
    const source: DashboardSource = {
      events,
      isOperator: () => false,
      picture: async () => {
        reads++;
        return { adapters: [], allocations: [] };
      },
    };
    const feed = new DashboardFeed(source, 60_000); // the timer cannot be what delivers below
    const readings: Reading[] = [];
    const next = (count: number) => expect.poll(() => readings.length, { timeout: 2000 }).toBe(count);
    const stop = feed.subscribe((r) => readings.push(r));
    await next(1);
    events.record(event('alice', 'a-1'));
    await next(2);
    stop();
    events.record(event('alice', 'a-2'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reads).toBe(2);
  });
});

describe('GET /v1/dashboard and /v1/events: what each viewer sees', () => {
  async function pool() {
    const h = harness();
    const alloc = async (token: string) =>
      (await h.call(token, 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: MiB }] })).json()
        .id as string;
    const aliceId = await alloc(ALICE);
    const bobId = await alloc(BOB);
    const slice = (entry: number, base: number, allocation?: string) => ({
      entry,
      kind: 'memory',
      state: 'active',
      base,
      length: MiB,
      ...(allocation ? { allocation } : {}),
    });
    h.grm.adapters = [
      adapterView('ra0', { slices: [slice(0, 0, aliceId), slice(1, MiB, bobId), slice(2, 2 * MiB)] }),
    ];
    h.grm.events.record(event('alice', aliceId));
    h.grm.events.record(event('bob', bobId));
    return { h, aliceId, bobId };
  }

  // Issue 16: other tenants' slices, one by one, showed where they sit and how large each is; a tenant now
  // sees their sum per kind as one "other" block at the end of the range (capacity, nothing more).
  it("shows a tenant its own slices by id and everyone else's as one other block, with no id or tenant", async () => {
    const { h, aliceId, bobId } = await pool();
    const res = await h.call(ALICE, 'GET', '/v1/dashboard');
    expect(res.statusCode).toBe(200);
    const view = res.json() as DashboardView;
    expect(view.viewer).toEqual({ tenant: 'alice', role: 'tenant' });
    expect(view.adapters[0]!.slices).toEqual([
      { kind: 'memory', base: 0, length: MiB, owner: 'own', allocation: aliceId },
      { kind: 'memory', base: 16 * 1024 * MiB - 2 * MiB, length: 2 * MiB, owner: 'other' },
    ]);
    expect(view.allocations.map((a) => a.id)).toEqual([aliceId]);
    expect(view.events.map((e) => e.allocation)).toEqual([aliceId]);
    expect(res.body).not.toContain(bobId);
    expect(res.body).not.toContain('bob');
    const events = await h.call(ALICE, 'GET', '/v1/events');
    expect((events.json() as GrmEvent[]).map((e) => e.allocation)).toEqual([aliceId]);
  });

  it('shows an operator every allocation with its tenant, and unattributed slices as such', async () => {
    const { h, aliceId, bobId } = await pool();
    h.grm.operators.add('bob');
    const view = (await h.call(BOB, 'GET', '/v1/dashboard')).json() as DashboardView;
    expect(view.viewer).toEqual({ tenant: 'bob', role: 'operator' });
    expect(view.adapters[0]!.slices.map((s) => s.owner)).toEqual([
      'allocation',
      'allocation',
      'unattributed',
    ]);
    expect(view.adapters[0]!.slices[0]).toMatchObject({ allocation: aliceId, tenant: 'alice' });
    expect(view.allocations.map((a) => a.id).sort()).toEqual([aliceId, bobId].sort());
    expect(view.events).toHaveLength(2);
  });

  it('answers 401 without a token, like the rest of /v1', async () => {
    const { h } = await pool();
    for (const url of ['/v1/dashboard', '/v1/events', '/v1/events/stream'])
      expect((await h.app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
  });
});

describe('GET /v1/events/stream over a socket', () => {
  it('sends a view at once and after each event; closing the server ends the stream', async () => {
    const h = harness();
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = h.app.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/v1/events/stream`;
    expect((await fetch(url)).status).toBe(401);

    const res = await fetch(url, { headers: { authorization: `Bearer ${ALICE}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const views = () =>
      [...text.matchAll(/^event: view\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as DashboardView);
    const until = async (done: () => boolean) => {
      while (!done()) {
        const { value, done: ended } = await reader.read();
        if (ended) return false;
        text += value;
      }
      return true;
    };
    await until(() => views().length >= 1);
    expect(views()[0]!.adapters.map((a) => a.id)).toEqual(['ra0', 'ra1']);

    const id = (
      await h.call(ALICE, 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: MiB }] })
    ).json().id as string;
    h.grm.events.record(event('alice', id));
    await until(() => views().some((v) => v.events.some((e) => e.allocation === id)));
    expect(
      views()
        .at(-1)!
        .allocations.map((a) => a.id),
    ).toEqual([id]);

    const closing = h.app.close();
    expect(await until(() => false)).toBe(false); // the server ended the stream
    await closing;
  });
});
