// /v1/allocations: allocate, list, get, resize, release. The tenant comes from the bearer token and is
// passed to every GRM call, which answers NOT_FOUND for another tenant's allocation: a tenant cannot
// tell another's allocation from one that does not exist (404, not 403, so ids leak nothing).
// An operator (issue 16) lists every tenant's allocations, and reads, reads the events of and releases
// any of them, acting as its owner; it resizes and runs jobs on its own only (those are the tenant's
// decisions and data).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GrmApi } from '../../grm/types.js';
import { principalOf, tenantOf } from '../auth.js';
import { objectBody, pathId } from '../input.js';
import { ALLOCATION_BODY_LIMIT_BYTES, routeBodyLimit } from './limits.js';

/** The tenant to act as on allocation `id`: its owner for an operator, else the caller. */
function ownerFor(grm: GrmApi, request: FastifyRequest, id: string): string {
  const { tenant, role } = principalOf(request);
  if (role !== 'operator') return tenant;
  if (grm.ownerOf) return grm.ownerOf(id) ?? tenant; // one lookup, whatever the number of allocations
  return grm.listAll?.().find((a) => a.id === id)?.tenant ?? tenant;
}

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

  app.get('/allocations', async (request) => {
    const { tenant, role } = principalOf(request);
    return role === 'operator' && grm.listAll ? grm.listAll() : grm.list(tenant);
  });

  app.get('/allocations/:id', async (request) => {
    const id = pathId(request.params);
    return grm.get(ownerFor(grm, request, id), id);
  });

  app.patch(
    '/allocations/:id',
    { bodyLimit: routeBodyLimit(app, ALLOCATION_BODY_LIMIT_BYTES) },
    async (request) => {
      const id = pathId(request.params);
      return grm.resize(tenantOf(request), id, objectBody(request.body));
    },
  );

  // issue 15: what reallocation did to the allocation (docs/realloc.md)
  app.get('/allocations/:id/events', async (request) => {
    const id = pathId(request.params);
    return grm.allocationEvents(ownerFor(grm, request, id), id);
  });

  // issue 13: the grants of the caller's own allocation (another tenant's is NOT_FOUND, as every call)
  app.get('/allocations/:id/grants', async (request) =>
    grm.grants(tenantOf(request), pathId(request.params)),
  );

  app.delete('/allocations/:id', async (request, reply) => {
    const id = pathId(request.params);
    const owner = ownerFor(grm, request, id);
    const caller = tenantOf(request);
    await (owner === caller ? grm.release(owner, id) : grm.release(owner, id, caller));
    return reply.code(204).send();
  });
}
