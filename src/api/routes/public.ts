// Unauthenticated endpoints: health for load balancers, the OpenAPI document, Prometheus metrics (which
// takes a token when the server has a metrics token: serve --metrics-token, issue 16).
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type { Registry } from 'prom-client';
import type { GrmApi } from '../../grm/types.js';
import { openApiDocument } from '../openapi.js';

export function publicRoutes(
  app: FastifyInstance,
  grm: GrmApi,
  metrics: { registry: Registry; beforeScrape: () => Promise<void>; guard?: onRequestAsyncHookHandler },
): void {
  app.get('/healthz', async (_request, reply) => {
    const health = grm.health();
    reply.code(health.ok ? 200 : 503);
    return health;
  });

  app.get('/openapi.json', async () => openApiDocument);

  app.get('/metrics', metrics.guard ? { onRequest: metrics.guard } : {}, async (_request, reply) => {
    await metrics.beforeScrape();
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
