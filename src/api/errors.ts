// The one table from error code to HTTP status (STYLE.md: "the HTTP layer maps codes to statuses in
// one table"), and the one error envelope every failure is sent in: {"error":{code,message,details?}}.
import {
  AgentCode,
  type AnyCode,
  ApiCode,
  BitstreamCode,
  CliCode,
  DeviceCode,
  DriverCode,
  GrmCode,
  RvlCode,
  StoreCode,
} from '../common/codes.js';
import { RaError } from '../common/errors.js';

export { ApiCode };

/**
 * Every code of every layer, each mapped on purpose: a code added to src/common/codes.ts and not
 * mapped here fails the typecheck. 500 means "our fault": the client gets a generic INTERNAL answer
 * that names the request id, and the real error goes to the log only.
 */
const statusOf: Record<AnyCode, number> = {
  [GrmCode.INVALID_REQUEST]: 400,
  [GrmCode.UNAUTHORIZED]: 401,
  [GrmCode.FORBIDDEN]: 403,
  [GrmCode.NOT_FOUND]: 404,
  [GrmCode.RESOURCE_UNAVAILABLE]: 409,
  [GrmCode.CONFLICT]: 409,
  [GrmCode.PAYLOAD_TOO_LARGE]: 413,
  [GrmCode.ADAPTER_FAILURE]: 502,
  [GrmCode.ALLOCATION_LOST]: 409,
  [GrmCode.OUTPUT_TOO_LARGE]: 400,
  [GrmCode.BITSTREAM_QUOTA]: 409,
  // Too many requests for this tenant's quota (issue 16): its own status, so a client backs off or frees
  // something instead of retrying as it would on a 409 that another tenant's release may clear.
  [GrmCode.QUOTA_EXCEEDED]: 429,
  [ApiCode.METHOD_NOT_ALLOWED]: 405,
  [ApiCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ApiCode.INTERNAL]: 500,
  // The RVL's own codes are the GRM's bugs or races it handles (it plans again on a stale plan).
  [RvlCode.INVALID_INVENTORY]: 500,
  [RvlCode.UNKNOWN_ADAPTER]: 500,
  [RvlCode.STALE_PLAN]: 500,
  // The store refused the GRM's own write or read: never the client's fault, never a 400 or 404.
  [StoreCode.INVALID_ARGUMENT]: 500,
  [StoreCode.NOT_FOUND]: 500,
  [StoreCode.CONFLICT]: 500,
  [StoreCode.CORRUPT]: 500,
  [StoreCode.LOCKED]: 500,
  // The store cannot make a change durable (disk full, I/O error, etcd away) or is closed while
  // shutting down: nothing changed; retry later.
  [StoreCode.UNAVAILABLE]: 503,
  [StoreCode.IO_FAILED]: 503,
  [StoreCode.CLOSED]: 503,
  // Another GRM replica changed the allocation first (etcd store): nothing changed; read it and retry.
  [StoreCode.STALE_REVISION]: 409,
  // The agent behind an adapter failed the GRM: the gateway failed (502), or is out of reach (503).
  [AgentCode.UNKNOWN_ADAPTER]: 502,
  [AgentCode.NO_BITSTREAM]: 502,
  [AgentCode.INVALID_PARAMS]: 502,
  [AgentCode.PROTOCOL]: 502,
  [AgentCode.FAILED]: 502,
  [AgentCode.DISCONNECTED]: 502,
  [AgentCode.TIMEOUT]: 503,
  [AgentCode.UNREACHABLE]: 503,
  [AgentCode.BUSY]: 503,
  [AgentCode.VERSION_MISMATCH]: 502,
  [AgentCode.MISMATCH]: 502,
  // The server lacks a tool it needs: ours to fix.
  [AgentCode.OPENSSL_MISSING]: 500,
  [AgentCode.OPENSSL_FAILED]: 500,
  [AgentCode.CERTS_INCOMPLETE]: 500,
  [AgentCode.LISTEN_FAILED]: 500,
  // The command line's own codes never come from behind the API; should one, it is our bug.
  [CliCode.USAGE]: 500,
  [CliCode.GRM_UNREACHABLE]: 500,
  // The client sent a bad bitstream: fix the descriptor or the image.
  [BitstreamCode.DESCRIPTOR]: 400,
  [BitstreamCode.PATH]: 400,
  [BitstreamCode.IMAGE]: 400,
  [BitstreamCode.SIZE]: 400,
  [BitstreamCode.HASH]: 400,
  [BitstreamCode.HEADER]: 400,
  [BitstreamCode.PIPELINE]: 400,
  [BitstreamCode.TOO_BIG]: 400,
  // The signature policy refused it: sign it with a trusted key.
  [BitstreamCode.UNSIGNED]: 403,
  [BitstreamCode.UNKNOWN_KEY]: 403,
  [BitstreamCode.BAD_SIGNATURE]: 403,
  // Valid on its own, but clashes with the catalog or the adapters it targets.
  [BitstreamCode.EXISTS]: 409,
  [BitstreamCode.SPEC]: 409,
  [BitstreamCode.FUNCTION]: 409,
  [BitstreamCode.CONTEXTS]: 409,
  [BitstreamCode.NOT_FOUND]: 404,
  [BitstreamCode.LOAD_MISMATCH]: 502,
  // A malformed server-side key or trust store is our fault, and its message names server paths.
  [BitstreamCode.KEY]: 500,
  // The adapter is (for now) out of reach: retry later.
  [DriverCode.TIMEOUT]: 503,
  [DriverCode.ADAPTER_GONE]: 503,
  [DriverCode.ADAPTER_HUNG]: 503,
  [DriverCode.CLOSED]: 503,
  [DriverCode.OPEN_FAILED]: 503,
  [DriverCode.LOCK_TIMEOUT]: 503,
  [DriverCode.NO_QUEUE]: 503,
  [DriverCode.INVALID_ARGUMENT]: 400,
  // The host's disk is full: ours to fix.
  [DriverCode.NO_SPACE]: 500,
  [DriverCode.UNKNOWN_DEVICE_ERROR]: 502,
  // Datasheet errors (ra-spec §15) the GRM let through: the adapter refused, so the gateway failed.
  ...(Object.fromEntries(Object.values(DeviceCode).map((code) => [code, 502])) as Record<
    (typeof DeviceCode)[keyof typeof DeviceCode],
    number
  >),
};

/** The table as a map (the status of a code a remote peer sent may be absent: it is then a 500). */
export const statusByCode: ReadonlyMap<string, number> = new Map<string, number>(Object.entries(statusOf));

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
