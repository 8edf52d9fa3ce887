// What a client asks for (DESIGN.md "Requests"): what it needs, never where. Validation happens here,
// once, so the placement code can trust every number it reads.
import { invalidRequest } from './errors.js';

export type Resource =
  | { kind: 'accelerator'; function: string /** contexts of the engine, default 1 */; contexts?: number }
  | { kind: 'memory'; bytes: number }
  | { kind: 'compute'; units: number }
  | { kind: 'logic'; bitstream: string };

export type ResourceKind = Resource['kind'];

export interface PlacementPolicy {
  /** The instance's server: adapters there are preferred. */
  sameServer?: string;
  /** Most distinct adapters the whole request may touch (adaptersInUse count towards it). */
  maxAdapters?: number;
  /** May memory / compute be spread over several extents and adapters? Default true. */
  allowSplit?: boolean;
  /** May degraded adapters receive slices? Default false. */
  allowDegraded?: boolean;
  /** Adapters the allocation already holds slices on (growing it): preferred, and counted by maxAdapters. */
  adaptersInUse?: string[];
}

export interface PlacementRequest {
  resources: Resource[];
  policy?: PlacementPolicy;
}

const kinds: readonly string[] = ['accelerator', 'memory', 'compute', 'logic'];

/** Longest name (server, function, bitstream, adapter id) a request may carry. */
export const MAX_NAME_LENGTH = 256;
/** Most adapters a policy may list. */
export const MAX_ADAPTERS_LISTED = 64;
const QUOTE_CHARS = 32;

/**
 * A value as an error message may quote it: at most a short prefix, so that refusing a 60 MB string
 * does not send 60 MB back.
 */
export function quoted(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}... (${text.length} characters)` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A positive integer JS numbers hold exactly: rejects NaN, fractions, negatives and 2^63. */
function positive(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalidRequest(`${what} must be a positive integer below 2^53, got ${quoted(value)}`, {
      field: what,
    });
  }
  return value;
}

function name(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_NAME_LENGTH)
    throw invalidRequest(`${what} must be a string of 1 to ${MAX_NAME_LENGTH} characters`, { field: what });
  return value;
}

function validateResource(input: unknown, index: number): Resource {
  const at = `resources[${index}]`;
  if (!isRecord(input)) throw invalidRequest(`${at} must be an object`, { field: at });
  switch (input.kind) {
    case 'memory':
      return { kind: 'memory', bytes: positive(input.bytes, `${at}.bytes`) };
    case 'compute':
      return { kind: 'compute', units: positive(input.units, `${at}.units`) };
    case 'logic':
      return { kind: 'logic', bitstream: name(input.bitstream, `${at}.bitstream`) };
    case 'accelerator': {
      const r: Resource = { kind: 'accelerator', function: name(input.function, `${at}.function`) };
      if (input.contexts !== undefined) r.contexts = positive(input.contexts, `${at}.contexts`);
      return r;
    }
    default:
      throw invalidRequest(`${at}.kind must be one of ${kinds.join(', ')}, got ${quoted(input.kind)}`, {
        field: `${at}.kind`,
      });
  }
}

function flag(policy: Record<string, unknown>, key: string): boolean | undefined {
  const v = policy[key];
  if (v !== undefined && typeof v !== 'boolean')
    throw invalidRequest(`policy.${key} must be a boolean`, { field: key });
  return v;
}

function validatePolicy(input: unknown): PlacementPolicy {
  if (input === undefined) return {};
  if (!isRecord(input)) throw invalidRequest('policy must be an object', { field: 'policy' });
  const policy: PlacementPolicy = {};
  if (input.sameServer !== undefined) policy.sameServer = name(input.sameServer, 'policy.sameServer');
  if (input.maxAdapters !== undefined) policy.maxAdapters = positive(input.maxAdapters, 'policy.maxAdapters');
  const allowSplit = flag(input, 'allowSplit');
  if (allowSplit !== undefined) policy.allowSplit = allowSplit;
  const allowDegraded = flag(input, 'allowDegraded');
  if (allowDegraded !== undefined) policy.allowDegraded = allowDegraded;
  if (input.adaptersInUse !== undefined) {
    if (!Array.isArray(input.adaptersInUse) || input.adaptersInUse.length > MAX_ADAPTERS_LISTED)
      throw invalidRequest(
        `policy.adaptersInUse must be an array of at most ${MAX_ADAPTERS_LISTED} adapter ids`,
        {
          field: 'policy.adaptersInUse',
        },
      );
    policy.adaptersInUse = input.adaptersInUse.map((id, i) => name(id, `policy.adaptersInUse[${i}]`));
  }
  return policy;
}

/** Throws RvlError INVALID_REQUEST; returns a normalised copy otherwise. */
export function validateRequest(input: unknown): PlacementRequest {
  if (!isRecord(input)) throw invalidRequest('a request must be an object with a resources array');
  if (!Array.isArray(input.resources) || input.resources.length === 0) {
    throw invalidRequest('request.resources must be a non-empty array', { field: 'resources' });
  }
  return { resources: input.resources.map(validateResource), policy: validatePolicy(input.policy) };
}
