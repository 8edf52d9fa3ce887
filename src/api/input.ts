// The only input checks the HTTP edge makes: the body is a JSON object and a path id is well formed.
// Field validation is the GRM's job (GrmApi: "every method validates its input").
import { RaError } from '../common/errors.js';
import { ALLOCATION_ID_PATTERN } from '../common/schema/model.js';
import { GrmCode } from '../grm/types.js';

/** Allocation ids, as the data model defines them. */
export const ID_PATTERN = new RegExp(ALLOCATION_ID_PATTERN);
export const ID_RULE = 'ids are 1 to 64 characters of A-Z, a-z, 0-9, "_" or "-"';

function describe(value: unknown): string {
  if (value === undefined) return 'no body';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** The body, when it is a JSON object (not an array, null, or a scalar). */
export function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `request body must be a JSON object, got ${describe(body)}; see /openapi.json for its fields`,
    );
  }
  return body as Record<string, unknown>;
}

/** The `id` path parameter, when it matches ID_PATTERN. */
export function pathId(params: unknown): string {
  const id = (params as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new RaError(GrmCode.INVALID_REQUEST, `the id in the path is malformed; ${ID_RULE}`);
  }
  return id;
}

const BITSTREAM_ID_PATTERN = /^[a-z0-9][a-z0-9.-]{0,62}$/;

/** The `id` path parameter of a bitstream (the descriptor schema's id rule). */
export function pathBitstreamId(params: unknown): string {
  const id = (params as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string' || !BITSTREAM_ID_PATTERN.test(id)) {
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      'the bitstream id in the path is malformed; ids are 1 to 63 characters of a-z, 0-9, "." or "-"',
    );
  }
  return id;
}
