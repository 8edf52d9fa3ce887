// /v1/gangs: several allocations granted all or nothing (issue 15, docs/realloc.md). The tenant comes
// from the bearer token; another tenant's gang does not exist for the caller.
import type { FastifyInstance } from 'fastify';
import type { GrmApi } from '../../grm/types.js';
import { tenantOf } from '../auth.js';
import { objectBody, pathId } from '../input.js';
import { GANG_BODY_LIMIT_BYTES, routeBodyLimit } from './limits.js';

export function gangRoutes(app: FastifyInstance, grm: GrmApi): void {
  app.post('/gangs', { bodyLimit: routeBodyLimit(app, GANG_BODY_LIMIT_BYTES) }, async (request, reply) => {
    const gang = await grm.allocateGang(tenantOf(request), objectBody(request.body));
    reply.code(201);
    return gang;
  });

  app.get('/gangs/:id', async (request) => grm.getGang(tenantOf(request), pathId(request.params)));

  app.delete('/gangs/:id', async (request, reply) => {
    await grm.releaseGang(tenantOf(request), pathId(request.params));
    return reply.code(204).send();
  });
}
