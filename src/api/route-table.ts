// The routes the server registered (collected from fastify's onRoute hook): the 405 handler reads
// it to fill the Allow header, and tests compare it with the OpenAPI document.
import type { FastifyInstance } from 'fastify';

export interface RegisteredRoute {
  method: string;
  /** Pattern as registered, prefix included: "/v1/allocations/:id". */
  url: string;
}

const tables = new WeakMap<FastifyInstance, RegisteredRoute[]>();

function patternOf(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}$`);
}

/** Starts recording; call before any route is registered. */
export function trackRoutes(app: FastifyInstance): void {
  const table: RegisteredRoute[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) table.push({ method, url: route.url });
  });
}

/** Every method+pattern registered on the server (HEAD included, as fastify adds it for GET). */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return [...(tables.get(app) ?? [])];
}

/** The methods some route accepts for this concrete path (empty: no route has this path). */
export function allowedMethods(app: FastifyInstance, path: string): string[] {
  const methods = registeredRoutes(app)
    .filter((route) => patternOf(route.url).test(path))
    .map((route) => route.method);
  return [...new Set(methods)].sort();
}
