// createApiServer: the GRM HTTP API on fastify. Public endpoints (/healthz, /openapi.json, /metrics) sit
// at the root; everything under /v1 needs a bearer token, and /metrics one too with metricsToken. The
// server holds no state of its own beyond its metrics registry (merged with the GRM's and the
// process's, metrics-registry.ts), so tests can create as many as they like.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { log } from '../common/log.js';
import type { GrmApi } from '../grm/types.js';
import { adapterGauges } from './adapter-metrics.js';
import { authHook, metricsAuthHook } from './auth.js';
import { frameworkErrors, installErrorHandling } from './error-handler.js';
import { recordHttpMetrics } from './http-metrics.js';
import { parseJsonBody } from './json-body.js';
import { scrapeRegistry } from './metrics-registry.js';
import { trackRoutes } from './route-table.js';
import { adapterRoutes } from './routes/adapters.js';
import { allocationRoutes } from './routes/allocations.js';
import { bitstreamRoutes } from './routes/bitstreams.js';
import { gangRoutes } from './routes/gangs.js';
import { jobRoutes } from './routes/jobs.js';
import { publicRoutes } from './routes/public.js';
import { tenantRoutes } from './routes/tenants.js';
import { uiDataRoutes, uiPageRoutes } from './routes/ui.js';

/** Job inputs travel as base64 inside JSON, so the default limit is generous. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Time a client gets to send a whole request (headers and body). 0 (fastify's default) would let a
 * body trickle in a byte at a time and hold its connection and buffer forever; a minute moves the
 * largest body at ~1 MiB/s. Answers are not bounded by this (a long job may take longer).
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export interface ApiServerOptions {
  /** token -> tenant, as parseTokens returns. Operators are the GRM's (GrmApi.isOperator). */
  tokens: Map<string, string>;
  /**
   * GET /metrics then needs `Authorization: Bearer` this token or an operator's (parseMetricsToken).
   * Absent (the default): /metrics is open, as Prometheus scrapers expect by default.
   */
  metricsToken?: string;
  bodyLimitBytes?: number;
  /** See DEFAULT_REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
  /** A pino logger (default: the project's, under component "api"), or false for none. */
  logger?: FastifyBaseLogger | false;
}

export function createApiServer(grm: GrmApi, options: ApiServerOptions): FastifyInstance {
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const logger = options.logger ?? log.child({ component: 'api' });
  const app = Fastify({
    ...(logger === false ? { logger: false } : { loggerInstance: logger }),
    bodyLimit: bodyLimitBytes,
    requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    // Longer than any valid id, so a long id gets our 400 rather than the router's 404.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: frameworkErrors(bodyLimitBytes),
  });

  trackRoutes(app);
  installErrorHandling(app, bodyLimitBytes);
  // Only JSON bodies: dropping text/plain makes any other content type a 415 instead of a string body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // No route takes this method on this path: the answer is 404 or 405 whatever the body holds.
    if (request.is404) {
      done(null, undefined);
      return;
    }
    try {
      done(null, parseJsonBody(body as string, request.method));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  const registry = new Registry();
  recordHttpMetrics(app, registry);
  const beforeScrape = adapterGauges(grm, registry, (err) =>
    app.log.error({ err }, 'metrics: listAdapters failed'),
  );
  const isOperator = (tenant: string) => grm.isOperator?.(tenant) ?? false;
  publicRoutes(app, grm, {
    registry: scrapeRegistry(registry, grm),
    beforeScrape,
    ...(options.metricsToken
      ? { guard: metricsAuthHook(options.metricsToken, options.tokens, isOperator) }
      : {}),
  });
  uiPageRoutes(app);

  app.register(
    async (v1) => {
      v1.addHook('onRequest', authHook(options.tokens, isOperator));
      adapterRoutes(v1, grm);
      allocationRoutes(v1, grm);
      gangRoutes(v1, grm);
      jobRoutes(v1, grm);
      bitstreamRoutes(v1, grm);
      uiDataRoutes(v1, grm);
      tenantRoutes(v1, grm, new Set(options.tokens.values()));
    },
    { prefix: '/v1' },
  );
  return app;
}
