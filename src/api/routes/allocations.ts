// /v1/allocations: allocate, list, get, resize, release. The tenant comes from the bearer token and is
// passed to every GRM call, which answers NOT_FOUND for another tenant's allocation.
import type { FastifyInstance } from 'fastify';
import type { GrmApi } from '../../grm/types.js';
import { tenantOf } from '../auth.js';
import { objectBody, pathId } from '../input.js';
import { ALLOCATION_BODY_LIMIT_BYTES, routeBodyLimit } from './limits.js';

export function allocationRoutes(app: FastifyInstance, grm: GrmApi): void {
  app.post(
    '/allocations',
    { bodyLimit: routeBodyLimit(app, ALLOCATION_BODY_LIMIT_BYTES) },
    async (request, reply) => {
      const allocation = await grm.allocate(tenantOf(request), objectBody(request.body));
      reply.code(201);
      return allocation;
    },
  );

  app.get('/allocations', async (request) => grm.list(tenantOf(request)));

  app.get('/allocations/:id', async (request) => grm.get(tenantOf(request), pathId(request.params)));

  app.patch(
    '/allocations/:id',
    { bodyLimit: routeBodyLimit(app, ALLOCATION_BODY_LIMIT_BYTES) },
    async (request) => {
      const id = pathId(request.params);
      return grm.resize(tenantOf(request), id, objectBody(request.body));
    },
  );

  // issue 15: what reallocation did to the allocation (docs/realloc.md)
  app.get('/allocations/:id/events', async (request) =>
    grm.allocationEvents(tenantOf(request), pathId(request.params)),
  );

  // issue 13: the grants of the caller's own allocation (another tenant's is NOT_FOUND, as every call)
  app.get('/allocations/:id/grants', async (request) =>
    grm.grants(tenantOf(request), pathId(request.params)),
  );

  app.delete('/allocations/:id', async (request, reply) => {
    await grm.release(tenantOf(request), pathId(request.params));
    return reply.code(204).send();
  });
}
