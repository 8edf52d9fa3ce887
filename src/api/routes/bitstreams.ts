// /v1/bitstreams: the catalog's entries, and registering a new one (the GRM verifies it against the
// trust store and policy before anything is stored).
import type { FastifyInstance } from 'fastify';
import type { GrmApi } from '../../grm/types.js';
import { tenantOf } from '../auth.js';
import { objectBody, pathBitstreamId } from '../input.js';
import { BITSTREAM_BODY_LIMIT_BYTES, routeBodyLimit } from './limits.js';

export function bitstreamRoutes(app: FastifyInstance, grm: GrmApi): void {
  app.get('/bitstreams', async (request) => grm.listBitstreams(tenantOf(request)));

  app.post(
    '/bitstreams',
    { bodyLimit: routeBodyLimit(app, BITSTREAM_BODY_LIMIT_BYTES) },
    async (request, reply) => {
      const registered = await grm.registerBitstream(tenantOf(request), objectBody(request.body));
      reply.code(201);
      return registered;
    },
  );

  // Operators only: the bitstream becomes usable by every tenant.
  app.post('/bitstreams/:id/publish', { bodyLimit: 1024 }, async (request) =>
    grm.publishBitstream(tenantOf(request), pathBitstreamId(request.params)),
  );
}
