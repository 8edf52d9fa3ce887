// The server listens for real: 127.0.0.1, port 0, node's fetch.
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ALICE, BOB, harness } from './helpers.js';

describe('listen', () => {
  const h = harness();
  afterAll(() => h.app.close());

  it('serves health, auth and allocations over HTTP', async () => {
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = h.app.server.address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/v1/allocations`)).status).toBe(401);
    const created = await fetch(`${base}/v1/allocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ resources: [{ kind: 'memory', bytes: 4096 }] }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const asBob = await fetch(`${base}/v1/allocations/${id}`, {
      headers: { authorization: `Bearer ${BOB}` },
    });
    expect(asBob.status).toBe(404);
    expect(await asBob.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const bad = await fetch(`${base}/v1/allocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(bad.status).toBe(400);
    const released = await fetch(`${base}/v1/allocations/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ALICE}` },
    });
    expect(released.status).toBe(204);
  });
});
