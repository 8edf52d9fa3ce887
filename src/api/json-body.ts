// The JSON body parser. It replaces fastify's default so that a malformed body is answered with where
// JSON.parse stopped, and so that "__proto__" / "constructor.prototype" keys are refused (as fastify's
// secure-json-parse does): the GRM may spread request objects, and such keys would reach prototypes.
import { RaError } from '../common/errors.js';
import { GrmCode } from '../grm/types.js';

/** Cheap prefilter: the reviver walk runs only on bodies that might hold a forbidden key. */
const suspicious = /"(?:__proto__|constructor)"\s*:/;

function refuseProtoKeys(key: string, value: unknown): unknown {
  const prototypeHolder =
    key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value;
  if (key === '__proto__' || prototypeHolder) {
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `request body holds a forbidden key "${key === '__proto__' ? '__proto__' : 'constructor.prototype'}"; remove it`,
    );
  }
  return value;
}

/**
 * Methods whose routes take no body: fetch and curl clients still send `Content-Type: application/json`
 * with an empty body on them, which is no body, not a malformed one.
 */
const bodylessMethods = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS']);

/**
 * Parses a request body as JSON; throws RaError INVALID_REQUEST naming what was wrong. An empty body is
 * `undefined` for bodyless methods and refused for the others.
 */
export function parseJsonBody(text: string, method = 'POST'): unknown {
  if (text.length === 0) {
    if (bodylessMethods.has(method.toUpperCase())) return undefined;
    throw new RaError(GrmCode.INVALID_REQUEST, 'request body is empty; send a JSON object');
  }
  try {
    return suspicious.test(text) ? JSON.parse(text, refuseProtoKeys) : JSON.parse(text);
  } catch (err) {
    if (err instanceof RaError) throw err;
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `request body is malformed JSON (${(err as Error).message}); send a JSON object`,
    );
  }
}
