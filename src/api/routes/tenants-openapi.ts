// The OpenAPI part of /v1/tenants (tenants.ts, issue 16): usage and quotas. The bodies are the data
// model's schemas (src/common/schema/model.ts), used as they are.
import { quotaSchema, TENANT_NAME_PATTERN, tenantUsageSchema } from '../../common/schema/model.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const failure = (name: string) => ({ $ref: `#/components/responses/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const common = {
  '400': failure('BadRequest'),
  '401': failure('Unauthorized'),
  '500': failure('Internal'),
  '503': failure('Unavailable'),
};

export const tenantSchemas = { Quota: quotaSchema, TenantUsage: tenantUsageSchema };

export const tenantPaths = {
  '/v1/tenants/me/usage': {
    get: {
      operationId: 'getMyUsage',
      summary: 'What the caller holds now (configuring allocations included) against its quota',
      responses: {
        '200': { description: 'Usage and quota', content: json(ref('TenantUsage')) },
        '404': failure('NotFound'),
        ...common,
      },
    },
  },
  '/v1/tenants': {
    get: {
      operationId: 'listTenants',
      summary: "Operators only: every tenant's usage and quota (every tenant of --tokens, holding or not)",
      responses: {
        '200': {
          description: 'Usage per tenant, by name',
          content: json({ type: 'array', items: ref('TenantUsage') }),
        },
        '403': failure('Forbidden'),
        '404': failure('NotFound'),
        ...common,
      },
    },
  },
  '/v1/tenants/{tenant}/quota': {
    parameters: [
      {
        name: 'tenant',
        in: 'path',
        required: true,
        description: 'A tenant name (as --tokens gives it)',
        schema: { type: 'string', pattern: TENANT_NAME_PATTERN },
        example: 'alice',
      },
    ],
    put: {
      operationId: 'setTenantQuota',
      summary:
        "Operators only: replace a tenant's quota (a field left out is unlimited); kept in the --quotas file before it applies. Allocations already held stay; new ones and growth are refused (429 QUOTA_EXCEEDED) while over it",
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: ref('Quota'),
            example: { bytes: 1073741824, units: 8, contexts: 16, sliceEntries: 32, allocations: 16 },
          },
        },
      },
      responses: {
        '200': { description: "The tenant's usage and new quota", content: json(ref('TenantUsage')) },
        '403': failure('Forbidden'),
        '404': failure('NotFound'),
        '409': failure('Conflict'),
        '413': failure('PayloadTooLarge'),
        '415': failure('UnsupportedMediaType'),
        ...common,
      },
    },
  },
};
