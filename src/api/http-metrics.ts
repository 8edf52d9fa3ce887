// Request metrics: a counter and a duration histogram by route pattern, method and status, and the
// error answers by their code. The route label is the pattern ("/v1/allocations/:id"), never the raw
// URL, so ids and scanners' junk URLs cannot grow the label set without bound; the code label is one
// of the status table's codes or INTERNAL (src/api/errors.ts, failureOf), so no caller can grow it.
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { answeredErrorCode } from './error-handler.js';

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
  const errors = new Counter({
    name: 'rafabric_http_errors_total',
    help: 'Error answers (status 400 and above) by the stable code in their envelope (src/common/codes.ts); a 500 is INTERNAL, its cause is in the log',
    labelNames: ['code'],
    registers: [registry],
  });
  // Each label set's children, made once: prom-client would hash the label object on every call.
  // Bounded like the label sets themselves (route patterns, methods, statuses).
  const seriesByKey = new Map<
    string,
    { requests: ReturnType<typeof requests.labels>; duration: ReturnType<typeof duration.labels> }
  >();
  // Every error leaves through the one envelope (error-handler.ts), which notes the code it answered.
  // One callback hook, not an async one: it never waits, and every request runs it (no promise each).
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode >= 400) {
      const code = answeredErrorCode(reply);
      if (code) errors.inc({ code });
    }
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${route} ${request.method} ${reply.statusCode}`;
    let series = seriesByKey.get(key);
    if (!series) {
      const status = String(reply.statusCode);
      series = {
        requests: requests.labels(route, request.method, status),
        duration: duration.labels(route, request.method, status),
      };
      seriesByKey.set(key, series);
    }
    series.requests.inc();
    series.duration.observe(reply.elapsedTime / 1000);
    done();
  });
}
