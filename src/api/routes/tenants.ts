// /v1/tenants (issue 16): what a tenant holds against its quota, for itself; every tenant's usage and
// setting a tenant's quota, for operators. Quotas themselves are the GRM's (src/grm/quotas.ts).
import type { FastifyInstance } from 'fastify';
import { RaError } from '../../common/errors.js';
import { type GrmApi, GrmCode } from '../../grm/types.js';
import { requireOperator, tenantOf } from '../auth.js';
import { objectBody } from '../input.js';

function noQuotas(): never {
  throw new RaError(GrmCode.NOT_FOUND, 'this GRM does not keep quotas or usage per tenant');
}

/** QUOTA_BODY_LIMIT_BYTES: five integers and their names fit many times over. */
const QUOTA_BODY_LIMIT_BYTES = 4096;

/** `tenants`: the tenants of the server's tokens, listed for operators even while they hold nothing. */
export function tenantRoutes(app: FastifyInstance, grm: GrmApi, tenants: ReadonlySet<string>): void {
  app.get('/tenants/me/usage', async (request) => {
    if (!grm.usage) noQuotas();
    return grm.usage(tenantOf(request));
  });

  app.get('/tenants', async (request) => {
    requireOperator(request, "read every tenant's usage");
    if (!grm.usageAll) noQuotas();
    return grm.usageAll(tenants);
  });

  app.put('/tenants/:tenant/quota', { bodyLimit: QUOTA_BODY_LIMIT_BYTES }, async (request) => {
    requireOperator(request, 'set quotas');
    if (!grm.setQuota) noQuotas();
    const { tenant } = request.params as { tenant: string };
    return grm.setQuota(tenant, objectBody(request.body));
  });
}
