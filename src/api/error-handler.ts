// Every failure leaves through here, in the one envelope: errors thrown by handlers and hooks, fastify's
// own refusals, URLs no route matches (404) and methods a route does not take (405).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RaError } from '../common/errors.js';
import { GrmCode } from '../grm/types.js';
import { ApiCode, failureOf } from './errors.js';
import { fromFastifyError } from './fastify-errors.js';
import { allowedMethods } from './route-table.js';

/** The code of the envelope each failed request was answered with (read by http-metrics.ts). */
const answeredCodes = new WeakMap<FastifyReply, string>();

/** The code of the error envelope `reply` carries, or undefined when it answered no error. */
export function answeredErrorCode(reply: FastifyReply): string | undefined {
  return answeredCodes.get(reply);
}

/** Sends `err` as the envelope with its status from the table; logs what is our fault, with stack. */
export function sendError(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  bodyLimitBytes: number,
) {
  const limitBytes = request.routeOptions?.bodyLimit ?? bodyLimitBytes; // a route may set its own
  const failure = failureOf(fromFastifyError(err, limitBytes) ?? err, request.id);
  if (failure.unexpected) request.log.error({ err }, 'request failed');
  else request.log.info({ code: failure.body.error.code }, failure.body.error.message);
  answeredCodes.set(reply, failure.body.error.code);
  return reply.status(failure.status).type('application/json; charset=utf-8').send(failure.body);
}

export function installErrorHandling(app: FastifyInstance, bodyLimitBytes: number): void {
  app.setErrorHandler((err: FastifyError, request, reply) => sendError(err, request, reply, bodyLimitBytes));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const allow = allowedMethods(app, path);
    const err =
      allow.length === 0
        ? new RaError(GrmCode.NOT_FOUND, `no route ${path}; see /openapi.json for the API`)
        : new RaError(ApiCode.METHOD_NOT_ALLOWED, `${request.method} is not allowed on ${path}`, { allow });
    if (allow.length > 0) reply.header('allow', allow.join(', '));
    return sendError(err, request, reply, bodyLimitBytes);
  });
}

/** fastify's `frameworkErrors` option: failures before routing (malformed URL, parameter too long). */
export function frameworkErrors(bodyLimitBytes: number) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    sendError(err, request, reply, bodyLimitBytes);
  };
}
