// /v1/bitstreams: the catalog's entries, and registering a new one (the GRM verifies it against the
// trust store and policy before anything is stored).
import type { FastifyInstance } from 'fastify';
import type { GrmApi } from '../../grm/types.js';
import { objectBody } from '../input.js';

export function bitstreamRoutes(app: FastifyInstance, grm: GrmApi): void {
  app.get('/bitstreams', async () => grm.listBitstreams());

  app.post('/bitstreams', async (request, reply) => {
    const registered = await grm.registerBitstream(objectBody(request.body));
    reply.code(201);
    return registered;
  });
}
