// Request metrics: a counter and a duration histogram by route pattern, method and status, and the
// error answers by their code. The route label is the pattern ("/v1/allocations/:id"), never the raw
// URL, so ids and scanners' junk URLs cannot grow the label set without bound; the code label is one
// of src/common/codes.ts (anything else is counted as UNKNOWN), so a body cannot grow it either.
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { codeSetsByOwner } from '../common/codes.js';

const knownCodes: ReadonlySet<string> = new Set(
  Object.values(codeSetsByOwner).flatMap((set) => Object.values(set) as string[]),
);

/** The code of an error envelope ({"error":{"code":...}}, src/api/errors.ts), or undefined. */
export function envelopeCode(payload: unknown): string | undefined {
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString() : '';
  if (!text.startsWith('{"error"')) return undefined;
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' && knownCodes.has(code) ? code : 'UNKNOWN';
  } catch {
    return 'UNKNOWN';
  }
}

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
  // Every answer leaves through the one error envelope (error-handler.ts), so its code is in the body.
  // Callback hooks, not async ones: they never wait, and every request runs both (no promise each).
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.statusCode >= 400) {
      const code = envelopeCode(payload);
      if (code) errors.inc({ code });
    }
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
}
