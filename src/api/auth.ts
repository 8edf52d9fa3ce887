// Bearer-token authentication: `Authorization: Bearer TOKEN` -> tenant. It runs as an onRequest hook,
// before the body is read, so an unauthenticated client never gets its body parsed or the GRM called.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RaError } from '../common/errors.js';
import { GrmCode } from '../grm/types.js';

const tenants = new WeakMap<FastifyRequest, string>();

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Tokens are compared by their sha256 in constant time, so response timing does not reveal how much
 * of a guessed token was right.
 */
function tenantFinder(tokens: Map<string, string>): (token: string) => string | undefined {
  const known = [...tokens].map(([token, tenant]) => ({ hash: digest(token), tenant }));
  return (token) => {
    const hash = digest(token);
    let found: string | undefined;
    for (const entry of known) if (timingSafeEqual(entry.hash, hash)) found = entry.tenant;
    return found;
  };
}

/** The onRequest hook that authenticates a request or answers 401. */
export function authHook(tokens: Map<string, string>) {
  const find = tenantFinder(tokens);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const tenant = match?.[1] === undefined ? undefined : find(match[1]);
    if (tenant === undefined) {
      reply.header('www-authenticate', 'Bearer realm="rafabric"');
      throw new RaError(
        GrmCode.UNAUTHORIZED,
        header === undefined
          ? 'missing Authorization header; send Authorization: Bearer TOKEN'
          : 'the bearer token is not valid; check the token you were given',
      );
    }
    tenants.set(request, tenant);
  };
}

/** The tenant an authenticated request acts for. */
export function tenantOf(request: FastifyRequest): string {
  const tenant = tenants.get(request);
  if (tenant === undefined) throw new Error('tenantOf: the request did not pass authHook');
  return tenant;
}
