// The dashboard: GET /ui (the page and its two static files, public: they hold no data and ask for
// the token), and under /v1 (authenticated like every API route) the view a viewer may see, the recent
// GRM events, and their live stream as server-sent events.
//
// The stream authenticates with the Authorization header like the rest of /v1. EventSource cannot set
// headers, so the page reads the stream with fetch() and parses the events itself: the token never goes
// into a URL (where access logs, history and Referer headers would keep it), and no second kind of
// credential (a short-lived query token) has to be issued, stored and expired.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RaError } from '../../common/errors.js';
import type { DashboardSource } from '../../grm/picture.js';
import { type GrmApi, GrmCode } from '../../grm/types.js';
import { principalOf } from '../auth.js';
import { DashboardFeed, type Reading } from './ui-feed.js';
import { type Viewer, viewFor, visibleEvents } from './ui-view.js';

/** The page's sources, read once: dist/api/routes and src/api/routes both sit three levels below the root. */
const pageDir = new URL('../../../src/ui/', import.meta.url);

const pageFiles: Record<string, { file: string; type: string }> = {
  '/ui': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Same-origin only: no inline script, no other host (nothing on the network but the GRM). */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function uiPageRoutes(app: FastifyInstance): void {
  for (const [url, { file, type }] of Object.entries(pageFiles)) {
    const body = readFileSync(new URL(file, pageDir));
    app.get(url, async (_request, reply) => {
      reply.type(type).header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('cache-control', 'no-cache');
      return reply.send(body);
    });
  }
}

function sourceOf(grm: GrmApi): DashboardSource | undefined {
  const candidate = grm as Partial<DashboardSource>;
  return typeof candidate.picture === 'function' &&
    typeof candidate.isOperator === 'function' &&
    candidate.events !== undefined
    ? (candidate as DashboardSource)
    : undefined;
}

function noDashboard(): never {
  throw new RaError(
    GrmCode.NOT_FOUND,
    'this GRM does not provide the dashboard (it cannot read the pool for it); use /v1/adapters',
  );
}

/** How long the page waits before it reconnects a stream that ended (the SSE retry field). */
const RECONNECT_MS = 1000;

/**
 * A client that stops reading must not make the server buffer views without end: past this many bytes
 * unsent, views are skipped (each view is whole, so the next one that fits replaces them).
 */
const MAX_UNSENT_BYTES = 1024 * 1024;

/** One server-sent event: its name and a JSON body on one data line. */
const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function uiDataRoutes(app: FastifyInstance, grm: GrmApi): void {
  const source = sourceOf(grm);
  const feed = source ? new DashboardFeed(source) : undefined;
  // The role authHook found (GrmApi.isOperator), the same one every /v1 route acts on.
  const viewerOf = (request: FastifyRequest): Viewer => principalOf(request);
  const open = new Set<FastifyReply>();
  // A stream never ends by itself: end them all before the server closes, or close() would wait forever.
  app.addHook('preClose', async () => {
    for (const reply of open) reply.raw.end();
  });

  app.get('/dashboard', async (request) => {
    if (!feed) noDashboard();
    const picture = await feed.read();
    return viewFor(viewerOf(request), picture, feed.usage, feed.source.events.recent(), new Date());
  });

  app.get('/events', async (request) => {
    if (!feed) noDashboard();
    return visibleEvents(viewerOf(request), feed.source.events.recent());
  });

  app.get('/events/stream', async (request, reply) => {
    if (!feed) noDashboard();
    const viewer = viewerOf(request);
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies that buffer (nginx) would hold the events back.
      'x-accel-buffering': 'no',
    });
    reply.raw.write(`retry: ${RECONNECT_MS}\n\n`);
    open.add(reply);
    const send = (reading: Reading) => {
      if (reply.raw.writableLength > MAX_UNSENT_BYTES) return;
      if ('error' in reading) {
        reply.raw.write(sse('problem', { message: `cannot read the pool: ${reading.error.message}` }));
        return;
      }
      const events = feed.source.events.recent();
      reply.raw.write(sse('view', viewFor(viewer, reading.picture, feed.usage, events, reading.at)));
    };
    const unsubscribe = feed.subscribe(send);
    reply.raw.once('close', () => {
      unsubscribe();
      open.delete(reply);
    });
  });
}
