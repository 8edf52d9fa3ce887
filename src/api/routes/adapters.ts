// GET /v1/adapters: the pool as the GRM sees it. Slices show which allocation holds them only to the
// tenant that owns it: another tenant's allocation ids are not its business.
import type { FastifyInstance } from 'fastify';
import type { AdapterView, GrmApi } from '../../grm/types.js';
import { tenantOf } from '../auth.js';

type Slice = AdapterView['slices'][number];

function hideAllocation({ allocation: _hidden, ...slice }: Slice): Slice {
  return slice;
}

export function adapterRoutes(app: FastifyInstance, grm: GrmApi): void {
  app.get('/adapters', async (request) => {
    const own = new Set(grm.list(tenantOf(request)).map((allocation) => allocation.id));
    const adapters = await grm.listAdapters();
    return adapters.map((adapter) => ({
      ...adapter,
      slices: adapter.slices.map((slice) =>
        slice.allocation === undefined || own.has(slice.allocation) ? slice : hideAllocation(slice),
      ),
    }));
  });
}
