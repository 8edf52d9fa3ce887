// The one table from error code to HTTP status (STYLE.md: "the HTTP layer maps codes to statuses in
// one table"), and the one error envelope every failure is sent in: {"error":{code,message,details?}}.
import { BitstreamCode } from '../bitstream/codes.js';
import { DriverCode, RaError } from '../driver/errors.js';
import { Err } from '../driver/regs.js';
import { GrmCode } from '../grm/types.js';
import { StoreCode } from '../store/errors.js';

/** Codes the HTTP edge raises itself, before the GRM is asked anything. */
export const ApiCode = {
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  INTERNAL: 'INTERNAL',
} as const;

/** Datasheet errors (ra-spec §15) the GRM let through: the adapter refused, so the gateway failed. */
const datasheetCodes = Object.keys(Err).filter((name) => name !== 'OK' && name !== 'COUNT');

export const statusByCode: ReadonlyMap<string, number> = new Map<string, number>([
  [GrmCode.INVALID_REQUEST, 400],
  [GrmCode.UNAUTHORIZED, 401],
  [GrmCode.FORBIDDEN, 403],
  [GrmCode.NOT_FOUND, 404],
  [GrmCode.RESOURCE_UNAVAILABLE, 409],
  [GrmCode.CONFLICT, 409],
  [GrmCode.PAYLOAD_TOO_LARGE, 413],
  [GrmCode.ADAPTER_FAILURE, 502],
  [GrmCode.ALLOCATION_LOST, 409],
  [GrmCode.OUTPUT_TOO_LARGE, 400],
  [GrmCode.BITSTREAM_QUOTA, 409],
  [ApiCode.METHOD_NOT_ALLOWED, 405],
  [ApiCode.UNSUPPORTED_MEDIA_TYPE, 415],
  [ApiCode.INTERNAL, 500],
  // The client sent a bad bitstream: fix the descriptor or the image.
  [BitstreamCode.DESCRIPTOR, 400],
  [BitstreamCode.PATH, 400],
  [BitstreamCode.IMAGE, 400],
  [BitstreamCode.SIZE, 400],
  [BitstreamCode.HASH, 400],
  [BitstreamCode.HEADER, 400],
  [BitstreamCode.PIPELINE, 400],
  [BitstreamCode.TOO_BIG, 400],
  // The signature policy refused it: sign it with a trusted key.
  [BitstreamCode.UNSIGNED, 403],
  [BitstreamCode.UNKNOWN_KEY, 403],
  [BitstreamCode.BAD_SIGNATURE, 403],
  // Valid on its own, but clashes with the catalog or the adapters it targets.
  [BitstreamCode.EXISTS, 409],
  [BitstreamCode.SPEC, 409],
  [BitstreamCode.FUNCTION, 409],
  [BitstreamCode.CONTEXTS, 409],
  [BitstreamCode.NOT_FOUND, 404],
  [BitstreamCode.LOAD_MISMATCH, 502],
  // BITSTREAM_KEY is absent on purpose: a malformed server-side key or trust store is our fault (500),
  // and its message names server paths.
  // The allocation store cannot make a change durable (disk full, I/O error): nothing changed; retry later.
  [StoreCode.UNAVAILABLE, 503],
  [StoreCode.IO_FAILED, 503],
  // Another GRM replica changed the allocation first (etcd store): nothing changed; read it and retry.
  [StoreCode.STALE_REVISION, 409],
  // The adapter is (for now) out of reach: retry later.
  [DriverCode.TIMEOUT, 503],
  [DriverCode.ADAPTER_GONE, 503],
  [DriverCode.ADAPTER_HUNG, 503],
  [DriverCode.CLOSED, 503],
  [DriverCode.OPEN_FAILED, 503],
  [DriverCode.LOCK_TIMEOUT, 503],
  [DriverCode.NO_QUEUE, 503],
  [DriverCode.INVALID_ARGUMENT, 400],
  [DriverCode.UNKNOWN_DEVICE_ERROR, 502],
  ...datasheetCodes.map((code): [string, number] => [code, 502]),
]);

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export interface ApiFailure {
  status: number;
  body: ErrorBody;
  /** True when the error is ours, not the client's: log it with its stack. */
  unexpected: boolean;
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/**
 * A RaError whose code is in the table keeps its code, message and details; anything else becomes a
 * generic 500 that names only the request id (the real error goes to the log, never to the client).
 */
export function failureOf(err: unknown, requestId: string): ApiFailure {
  if (err instanceof RaError) {
    const status = statusByCode.get(err.code);
    if (status !== undefined && status !== 500) {
      return { status, body: errorBody(err.code, err.message, err.details), unexpected: status >= 500 };
    }
  }
  return {
    status: 500,
    body: errorBody(ApiCode.INTERNAL, 'internal error; the server logged the details under this request id', {
      requestId,
    }),
    unexpected: true,
  };
}
