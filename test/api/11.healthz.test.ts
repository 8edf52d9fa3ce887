// GET /healthz: the GRM's health, 200 when ok and 503 when not (for load balancers).
import { describe, expect, it } from 'vitest';
import { expectError, harness } from './helpers.js';

describe('GET /healthz', () => {
  it('200 with the GRM health when ok', async () => {
    const h = harness();
    const res = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true, adapters: 2, unhealthy: 0 });
  });

  it('503 with the same body when not ok', async () => {
    const h = harness();
    h.grm.healthy = false;
    h.grm.adapters[0]!.health = 'unhealthy';
    const res = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ok: false, adapters: 2, unhealthy: 1 });
  });

  it('500 INTERNAL in the envelope when the GRM throws', async () => {
    const h = harness();
    h.grm.failNext('health', new Error('store is corrupt at /var/lib/secret'));
    const message = expectError(await h.app.inject({ method: 'GET', url: '/healthz' }), 500, 'INTERNAL');
    expect(message).not.toContain('secret');
  });
});
