// POST /v1/allocations/:id/jobs: run a function on the allocation's engines; input and output are base64.
import type { FastifyInstance } from 'fastify';
import type { GrmApi } from '../../grm/types.js';
import { tenantOf } from '../auth.js';
import { objectBody, pathId } from '../input.js';

export function jobRoutes(app: FastifyInstance, grm: GrmApi): void {
  app.post('/allocations/:id/jobs', async (request) => {
    const id = pathId(request.params);
    const { output } = await grm.runJob(tenantOf(request), id, objectBody(request.body));
    // Only the documented field: whatever else the GRM's result carries stays inside.
    return { output };
  });
}
