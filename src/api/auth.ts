// Bearer-token authentication and roles (issue 16): `Authorization: Bearer TOKEN` -> tenant, and the
// tenant's role. A tenant sees capacity and its own allocations; an operator (a tenant named by
// `serve --operators`) sees and manages every tenant's. It runs as an onRequest hook, before the body
// is read, so an unauthenticated client never gets its body parsed or the GRM called.
import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { RaError } from '../common/errors.js';
import { GrmCode } from '../grm/types.js';

export type Role = 'operator' | 'tenant';

/** Who a request acts for. */
export interface Principal {
  tenant: string;
  role: Role;
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** One-shot sha256 (crypto.hash: no Hash object per request). */
function digest(token: string): Buffer {
  return hash('sha256', token, 'buffer') as unknown as Buffer;
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

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function unauthorized(request: FastifyRequest, reply: FastifyReply, what: string): never {
  reply.header('www-authenticate', 'Bearer realm="rafabric"');
  throw new RaError(
    GrmCode.UNAUTHORIZED,
    request.headers.authorization === undefined
      ? `missing Authorization header; send Authorization: Bearer TOKEN (${what})`
      : `the bearer token is not valid; check the token you were given (${what})`,
  );
}

/**
 * The onRequest hook that authenticates a request (and finds its role) or answers 401. A callback
 * hook, not an async one: it never waits, and every /v1 request runs it (no promise per request).
 */
export function authHook(tokens: Map<string, string>, isOperator: (tenant: string) => boolean) {
  const find = tenantFinder(tokens);
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    try {
      const token = bearerOf(request);
      const tenant = token === undefined ? undefined : find(token);
      if (tenant === undefined) unauthorized(request, reply, 'a tenant token from --tokens');
      principals.set(request, { tenant, role: isOperator(tenant) ? 'operator' : 'tenant' });
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  };
}

/**
 * GET /metrics with `serve --metrics-token`: the scrape token, or any operator's token. A scrape-only
 * token is what Prometheus should hold: it opens /metrics and nothing under /v1.
 */
export function metricsAuthHook(
  metricsToken: string,
  tokens: Map<string, string>,
  isOperator: (tenant: string) => boolean,
) {
  const find = tenantFinder(new Map([...tokens, [metricsToken, '']]));
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = bearerOf(request);
    const tenant = token === undefined ? undefined : find(token);
    if (tenant === '') return;
    if (tenant !== undefined && isOperator(tenant)) return;
    unauthorized(request, reply, '/metrics needs the --metrics-token or an operator token');
  };
}

/** The tenant and role an authenticated request acts for. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (principal === undefined) throw new Error('principalOf: the request did not pass authHook');
  return principal;
}

/** The tenant an authenticated request acts for. */
export function tenantOf(request: FastifyRequest): string {
  return principalOf(request).tenant;
}

/** FORBIDDEN unless the request comes with an operator's token. */
export function requireOperator(request: FastifyRequest, what: string): Principal {
  const principal = principalOf(request);
  if (principal.role !== 'operator')
    throw new RaError(
      GrmCode.FORBIDDEN,
      `only operators may ${what}; ${principal.tenant} is not one (serve --operators names them)`,
    );
  return principal;
}
