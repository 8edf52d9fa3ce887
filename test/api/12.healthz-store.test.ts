// Regression (issue 8 item 6): when the allocation store cannot write, the API answered 500 while
// /healthz said ok, and DELETE released the slices, answered 500 and left the allocation active. Now:
// 503 STORE_UNAVAILABLE, /healthz 503 with the store's problem, every operation whole or not at all
// (checked in the adapters' registers), the failure logged; a full disk passes when space returns.
// The GRM runs on a real JournalStore; the failures are real errno errors from node:fs (fs-faults.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentClient, inProcessChannel, serveAgent } from '../../src/agent/protocol.js';
import { createApiServer, DEFAULT_REQUEST_TIMEOUT_MS } from '../../src/api/server.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { Grm } from '../../src/grm/grm.js';
import { JournalStore } from '../../src/store/index.js';
import { MiB, quietLog, readSliceTables, useEmbedded } from '../grm/helpers.js';
import { failFs } from '../helpers/fs-faults.js';

const TOKEN = 'store-fault-token';
const undo: (() => void)[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const u of undo.splice(0)) u();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('store write failures through the API', () => {
  const ctx = useEmbedded(2, 64 * MiB);

  async function setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-store-'));
    dirs.push(dir);
    const store = JournalStore.open(dir);
    const [grmSide, agentSide] = inProcessChannel();
    serveAgent(agentSide, ctx.pool.agent.handlers());
    const grm = new Grm({
      agents: [new AgentClient(grmSide, os.hostname())],
      store,
      catalog: openShippedCatalog(),
      log: quietLog,
    });
    let logged = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    const app = createApiServer(grm, {
      tokens: new Map([[TOKEN, 'alice']]),
      logger: pino({ level: 'info' }, sink),
    });
    const call = async (method: string, url: string, body?: unknown) => {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { payload: JSON.stringify(body) } : {}),
      });
      // biome-ignore lint/suspicious/noExplicitAny: response bodies of several shapes
      return { status: res.statusCode, body: (res.body ? res.json() : {}) as any };
    };
    const slices = () => readSliceTables(ctx.pool.modelDir, 2);
    const cleanup = async () => {
      await app.close();
      await store.close();
    };
    return { store, call, slices, logged: () => logged, cleanup };
  }

  it('disk full: 503 STORE_UNAVAILABLE, healthz 503, DELETE keeps allocation and slices; all resumes with space', async () => {
    const t = await setup();
    const kept = await t.call('POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: 4 * MiB }] });
    expect(kept.status).toBe(201);
    const before = t.slices();
    expect(before.length).toBeGreaterThan(0);
    expect((await t.call('GET', '/healthz')).status).toBe(200);

    const full = failFs('writeSync', 'ENOSPC');
    undo.push(full.undo);
    const post = await t.call('POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: 4 * MiB }] });
    expect(post.status).toBe(503);
    expect(post.body!.error.code).toBe('STORE_UNAVAILABLE');
    expect(post.body!.error.message).toMatch(/disk is full/);
    expect(t.slices(), 'a refused allocation programs nothing').toEqual(before);

    const health = await t.call('GET', '/healthz');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ ok: false, store: { writable: false } });
    expect(String(health.body.store.problem)).toMatch(/full/);

    const del = await t.call('DELETE', `/v1/allocations/${kept.body!.id}`);
    expect(del.status).toBe(503);
    expect(del.body!.error.code).toBe('STORE_UNAVAILABLE');
    expect((await t.call('GET', `/v1/allocations/${kept.body!.id}`)).body!.state).toBe('active');
    expect(t.slices(), 'a refused release leaves every slice programmed').toEqual(before);
    expect(t.logged()).toMatch(/"level":50.*STORE_UNAVAILABLE|STORE_UNAVAILABLE.*"level":50/);

    full.undo(); // space again (the temp dir's disk has room)
    expect((await t.call('GET', '/healthz')).status).toBe(200);
    expect((await t.call('DELETE', `/v1/allocations/${kept.body!.id}`)).status).toBe(204);
    expect(t.slices().length).toBe(before.length - 1);
    await t.cleanup();
  });

  it('a failed fsync: 503 and healthz 503 until a restart, even after the error passes', async () => {
    const t = await setup();
    const broken = failFs('fsync', 'EIO');
    undo.push(broken.undo);
    const before = t.slices();
    const post = await t.call('POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: 4 * MiB }] });
    expect(post.status).toBe(503);
    expect(post.body!.error.message).toMatch(/restart the server/);
    broken.undo();
    const health = await t.call('GET', '/healthz');
    expect(health.status).toBe(503);
    expect(String(health.body.store.problem)).toMatch(/restart the server/);
    expect(
      (await t.call('POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: 4 * MiB }] })).status,
    ).toBe(503);
    expect(t.slices()).toEqual(before);
    await t.cleanup();
  });
});

describe('request timeout', () => {
  it('is bounded by default, so a trickling body cannot hold a connection forever', async () => {
    const app = createApiServer({} as never, { tokens: new Map(), logger: false });
    await app.ready();
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBeGreaterThan(0);
    expect(app.server.requestTimeout).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
    await app.close();
  });
});
