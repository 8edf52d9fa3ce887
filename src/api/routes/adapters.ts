// GET /v1/adapters: the pool as the GRM sees it. Every caller sees each adapter's capacity (total and
// free); a tenant sees only its own slices in the slice table (issue 16: another tenant's slices, sizes
// and allocation ids are not its business); an operator sees every slice with its allocation.
import type { FastifyInstance } from 'fastify';
import type { GrmApi } from '../../grm/types.js';
import { principalOf } from '../auth.js';

export function adapterRoutes(app: FastifyInstance, grm: GrmApi): void {
  app.get('/adapters', async (request) => {
    const { tenant, role } = principalOf(request);
    const adapters = await grm.listAdapters();
    if (role === 'operator') return adapters;
    const own = new Set(grm.list(tenant).map((allocation) => allocation.id));
    return adapters.map((adapter) => ({
      ...adapter,
      slices: adapter.slices.filter((slice) => slice.allocation !== undefined && own.has(slice.allocation)),
    }));
  });
}
