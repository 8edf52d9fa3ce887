// GET /metrics: Prometheus text from a registry of the server's own; request metrics labelled by route
// pattern, pool gauges read from the GRM at scrape time.
import { describe, expect, it } from 'vitest';
import { adapterView } from './fake-grm.js';
import { ALICE, aliceAllocation, harness } from './helpers.js';

async function scrape(h: ReturnType<typeof harness>): Promise<string> {
  const res = await h.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
}

describe('GET /metrics', () => {
  it('counts requests by route pattern, method and status, and times them', async () => {
    const h = harness();
    const id = await aliceAllocation(h);
    await h.call(ALICE, 'GET', `/v1/allocations/${id}`);
    await h.call(ALICE, 'GET', '/v1/allocations/al-404');
    await h.call(ALICE, 'GET', '/no/such/route');
    const text = await scrape(h);
    expect(text).toContain(
      'rafabric_http_requests_total{route="/v1/allocations",method="POST",status="201"} 1',
    );
    expect(text).toContain(
      'rafabric_http_requests_total{route="/v1/allocations/:id",method="GET",status="200"} 1',
    );
    expect(text).toContain(
      'rafabric_http_requests_total{route="/v1/allocations/:id",method="GET",status="404"} 1',
    );
    expect(text).toContain(`rafabric_http_requests_total{route="unmatched",method="GET",status="404"} 1`);
    expect(text).not.toContain('/no/such/route');
    expect(text).not.toContain(id);
    expect(text).toMatch(
      /rafabric_http_request_duration_seconds_bucket\{le="0.001",route="\/v1\/allocations"/,
    );
  });

  it('reads the pool gauges from listAdapters at scrape time', async () => {
    const h = harness();
    const slice = { entry: 0, kind: 'memory', state: 'active', base: 0, length: 4096, allocation: 'al-7' };
    h.grm.adapters = [
      adapterView('ra0', {
        memory: { total: 1024, free: 512 },
        computeUnits: { total: 8, free: 3 },
        slots: { total: 4, free: 1 },
        health: 'degraded',
        slices: [slice, { ...slice, entry: 1 }, { ...slice, entry: 2, allocation: 'al-8' }],
      }),
    ];
    const text = await scrape(h);
    const labels = '{adapter="ra0",server="host-a"}';
    expect(text).toContain(`rafabric_adapter_memory_capacity_bytes${labels} 1024`);
    expect(text).toContain(`rafabric_adapter_memory_free_bytes${labels} 512`);
    expect(text).toContain(`rafabric_adapter_compute_units_capacity${labels} 8`);
    expect(text).toContain(`rafabric_adapter_compute_units_free${labels} 3`);
    expect(text).toContain('rafabric_adapter_health{adapter="ra0",server="host-a",state="degraded"} 1');
    expect(text).toContain('rafabric_adapter_health{adapter="ra0",server="host-a",state="healthy"} 0');
    expect(text).toContain('rafabric_grm_scrape_ok 1');
    // No gauge ends in _total (Prometheus reserves it for counters); slots, contexts, slice entries and
    // allocations by state come from a real GRM's registry (test/api/61.metrics-promtool.test.ts).
    expect(text).not.toMatch(/^rafabric_adapter_\w+_total\{/m);
    expect(text).not.toContain('rafabric_allocations{');
  });

  it('drops an adapter that left the pool', async () => {
    const h = harness();
    expect(await scrape(h)).toContain('adapter="ra1"');
    h.grm.adapters = h.grm.adapters.slice(0, 1);
    expect(await scrape(h)).not.toContain('adapter="ra1"');
  });

  it('still answers when listAdapters throws, with rafabric_grm_scrape_ok 0', async () => {
    const h = harness();
    h.grm.failNext('listAdapters', new Error('store unavailable'));
    const text = await scrape(h);
    expect(text).toContain('rafabric_grm_scrape_ok 0');
    expect(text).not.toContain('rafabric_adapter_memory_capacity_bytes{');
  });

  it('counts error answers by the code in their envelope, never by raw input', async () => {
    const h = harness();
    await h.call(ALICE, 'GET', '/v1/allocations/al-404');
    await h.call(ALICE, 'GET', '/v1/allocations/al-405');
    await h.call('no-such-token', 'GET', '/v1/allocations');
    await h.call(ALICE, 'PUT', '/v1/allocations');
    await h.call(ALICE, 'POST', '/v1/allocations', { resources: [{ kind: 'toString' }] });
    const text = await scrape(h);
    expect(text).toContain('rafabric_http_errors_total{code="NOT_FOUND"} 2');
    expect(text).toContain('rafabric_http_errors_total{code="UNAUTHORIZED"} 1');
    expect(text).toContain('rafabric_http_errors_total{code="METHOD_NOT_ALLOWED"} 1');
    expect(text).toContain('rafabric_http_errors_total{code="INVALID_REQUEST"} 1');
    expect(text).not.toContain('toString');
  });

  it('exports the process and Node.js default metrics, without gauges named _total', async () => {
    const text = await scrape(harness());
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).not.toContain('nodejs_active_handles_total');
  });

  it('keeps each server in its own registry', async () => {
    const a = harness();
    const b = harness();
    await aliceAllocation(a);
    expect(await scrape(a)).toContain('route="/v1/allocations",method="POST",status="201"} 1');
    expect(await scrape(b)).not.toContain('method="POST"');
  });
});
