// Request metrics: a counter and a duration histogram by route pattern, method and status. The route
// label is the pattern ("/v1/allocations/:id"), never the raw URL, so ids and scanners' junk URLs
// cannot grow the label set without bound.
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';

export function recordHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const labelNames = ['route', 'method', 'status'] as const;
  const requests = new Counter({
    name: 'rafabric_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'rafabric_http_request_duration_seconds',
    help: 'Time from request start to response end, by route pattern, method and status',
    labelNames,
    // Job runs move megabytes through the DMA engine, so the buckets reach into seconds.
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });
}
