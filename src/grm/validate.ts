// Validation of what clients send the GRM. Resources are checked by the RVL (one place for
// placement rules); the GRM adds its own policy fields, resize requests and job requests.
// Every refusal is RaError INVALID_REQUEST naming the field.
import { RaError } from '../common/errors.js';
import { acceleratorFunctionNames, isAcceleratorFunction, isFunctionName } from '../common/functions.js';
import { type PlacementRequest, validateRequest } from '../rvl/index.js';
import { quoted } from '../rvl/request.js';
import { ELASTIC_POLICY_FIELDS, validateElasticFields } from './elastic/validate.js';
import { type AllocationPolicy, GrmCode, type JobRequest, type ResizeRequest } from './types.js';

export const MAX_RESOURCES = 64;
export const MAX_JOB_INPUT_BYTES = 32 * 1024 * 1024;
/** A job's output travels base64 in the response: bounded like its input. */
export const MAX_JOB_OUTPUT_BYTES = 32 * 1024 * 1024;
/** Unknown fields an error message names (the rest are counted). */
const NAMED_FIELDS = 3;
const MAX_LEASE_MS = 365 * 24 * 3600 * 1000;

const invalid = (message: string, details?: Record<string, unknown>) =>
  new RaError(GrmCode.INVALID_REQUEST, message, details);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const extra: string[] = [];
  let count = 0;
  for (const k in obj) {
    if (!Object.hasOwn(obj, k) || allowed.includes(k)) continue;
    count++;
    if (extra.length < NAMED_FIELDS) extra.push(quoted(k));
  }
  if (count === 0) return;
  const more = count > extra.length ? ` and ${count - extra.length} more` : '';
  throw invalid(`${where}: unknown field(s) ${extra.join(', ')}${more}`, {
    fields: extra,
    unknownFields: count,
  });
}

function optionalMs(obj: Record<string, unknown>, name: string): number | undefined {
  const v = obj[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > MAX_LEASE_MS) {
    throw invalid(`policy.${name} must be a whole number of milliseconds, 1..${MAX_LEASE_MS}`, {
      field: `policy.${name}`,
    });
  }
  return v;
}

export interface ValidatedAllocation {
  placement: PlacementRequest;
  policy: AllocationPolicy;
}

export function validateAllocation(body: unknown): ValidatedAllocation {
  if (!isRecord(body)) throw invalid('the request body must be a JSON object with a "resources" array');
  onlyKeys(body, ['resources', 'policy'], 'request');
  if (!Array.isArray(body.resources) || body.resources.length === 0)
    throw invalid('resources must be a non-empty array', { field: 'resources' });
  if (body.resources.length > MAX_RESOURCES)
    throw invalid(`at most ${MAX_RESOURCES} resources per allocation`, { field: 'resources' });
  const policyIn = body.policy === undefined ? {} : body.policy;
  if (!isRecord(policyIn)) throw invalid('policy must be an object', { field: 'policy' });
  onlyKeys(
    policyIn,
    [
      'sameServer',
      'maxAdapters',
      'allowSplit',
      'leaseMs',
      'idleReclaimMs',
      'onAdapterFailure',
      ...ELASTIC_POLICY_FIELDS, // issue 15
    ],
    'policy',
  );
  const {
    leaseMs: _l,
    idleReclaimMs: _i,
    onAdapterFailure,
    elastic: _e, // issue 15: checked by validateElasticFields
    priority: _p,
    preemptible: _pr,
    ...placementPolicy
  } = policyIn;
  if (onAdapterFailure !== undefined && onAdapterFailure !== 'fail' && onAdapterFailure !== 'replace') {
    throw invalid('policy.onAdapterFailure must be "fail" or "replace"', {
      field: 'policy.onAdapterFailure',
    });
  }
  body.resources.forEach((r, i) => {
    if (!isRecord(r)) throw invalid(`resources[${i}] must be an object`, { field: `resources[${i}]` });
    const fieldsByKind: Record<string, string[]> = {
      accelerator: ['kind', 'function'],
      memory: ['kind', 'bytes'],
      compute: ['kind', 'units'],
      logic: ['kind', 'bitstream'],
    };
    // Own keys only: "toString" and the other Object.prototype names are not kinds.
    const allowed =
      typeof r.kind === 'string' && Object.hasOwn(fieldsByKind, r.kind) ? fieldsByKind[r.kind] : undefined;
    if (!allowed)
      throw invalid(
        `resources[${i}].kind must be accelerator, memory, compute or logic, got ${quoted(r.kind)}`,
        {
          field: `resources[${i}].kind`,
        },
      );
    onlyKeys(r, allowed, `resources[${i}]`);
    if (r.kind === 'accelerator' && !isAcceleratorFunction(r.function)) {
      throw invalid(
        `resources[${i}].function must be one of ${acceleratorFunctionNames.join(', ')} (matmul is kind "compute"; custom logic is kind "logic")`,
        { field: `resources[${i}].function` },
      );
    }
  });
  let placement: PlacementRequest;
  try {
    placement = validateRequest({ resources: body.resources, policy: placementPolicy });
  } catch (err) {
    throw invalid((err as Error).message, (err as RaError).details);
  }
  const policy: AllocationPolicy = { ...(placementPolicy as AllocationPolicy) };
  const leaseMs = optionalMs(policyIn, 'leaseMs');
  const idleReclaimMs = optionalMs(policyIn, 'idleReclaimMs');
  if (leaseMs) policy.leaseMs = leaseMs;
  if (idleReclaimMs) policy.idleReclaimMs = idleReclaimMs;
  if (onAdapterFailure) policy.onAdapterFailure = onAdapterFailure;
  Object.assign(policy, validateElasticFields(policyIn, body.resources)); // issue 15
  return { placement, policy };
}

export function validateResize(body: unknown): ResizeRequest {
  if (!isRecord(body))
    throw invalid(
      'the request body must be a JSON object: {"resource": N, "bytes": N} or {"resource": N, "units": N}',
    );
  onlyKeys(body, ['resource', 'bytes', 'units'], 'resize');
  const { resource, bytes, units } = body;
  if (
    typeof resource !== 'number' ||
    !Number.isSafeInteger(resource) ||
    resource < 0 ||
    resource >= MAX_RESOURCES
  )
    throw invalid('resource must be the index of a memory or compute resource', { field: 'resource' });
  if ((bytes === undefined) === (units === undefined))
    throw invalid('give exactly one of bytes or units', { field: 'bytes' });
  const n = bytes ?? units;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0)
    throw invalid(`${bytes !== undefined ? 'bytes' : 'units'} must be a positive integer below 2^53`, {
      field: bytes !== undefined ? 'bytes' : 'units',
    });
  return bytes !== undefined ? { resource, bytes: n } : { resource, units: n };
}

const HEX = /^[0-9a-fA-F]*$/;

export function validateJob(body: unknown): JobRequest & { inputBytes: Buffer } {
  if (!isRecord(body))
    throw invalid('the request body must be a JSON object: {"function", "params"?, "input": BASE64}');
  onlyKeys(body, ['function', 'params', 'input'], 'job');
  if (!isFunctionName(body.function))
    throw invalid('function must be one of aes-256-gcm, sha256, crc32c, pipeline, matmul-f32', {
      field: 'function',
    });
  if (typeof body.input !== 'string') throw invalid('input must be base64', { field: 'input' });
  if (body.input.length > Math.ceil(MAX_JOB_INPUT_BYTES / 3) * 4)
    throw invalid(`input is over ${MAX_JOB_INPUT_BYTES} bytes`, { field: 'input' });
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body.input)) throw invalid('input must be base64', { field: 'input' });
  const inputBytes = Buffer.from(body.input, 'base64');
  if (inputBytes.length === 0) throw invalid('input is empty', { field: 'input' });
  if (inputBytes.length > MAX_JOB_INPUT_BYTES)
    throw invalid(`input is over ${MAX_JOB_INPUT_BYTES} bytes`, { field: 'input' });
  const params = body.params === undefined ? {} : body.params;
  if (!isRecord(params)) throw invalid('params must be an object', { field: 'params' });
  if (body.function === 'aes-256-gcm') {
    onlyKeys(params, ['key', 'iv'], 'params');
    if (typeof params.key !== 'string' || params.key.length !== 64 || !HEX.test(params.key))
      throw invalid('params.key must be 64 hex digits (aes-256)', { field: 'params.key' });
    if (typeof params.iv !== 'string' || params.iv.length !== 24 || !HEX.test(params.iv))
      throw invalid('params.iv must be 24 hex digits (12 bytes)', { field: 'params.iv' });
  } else if (body.function === 'matmul-f32') {
    onlyKeys(params, ['m', 'n', 'k'], 'params');
    for (const d of ['m', 'n', 'k'] as const) {
      const v = params[d];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 4096)
        throw invalid(`params.${d} must be 1..4096`, { field: `params.${d}` });
    }
    const { m, n, k } = params as { m: number; n: number; k: number };
    const outputBytes = m * n * 4;
    if (outputBytes > MAX_JOB_OUTPUT_BYTES)
      throw new RaError(
        GrmCode.OUTPUT_TOO_LARGE,
        `the output C (${m}x${n} f32) would be ${outputBytes} bytes; at most ${MAX_JOB_OUTPUT_BYTES} bytes per job: split the product into row blocks of A`,
        { field: 'params', outputBytes, limitBytes: MAX_JOB_OUTPUT_BYTES },
      );
    if (inputBytes.length !== (m * k + k * n) * 4)
      throw invalid(`input must hold A (${m}x${k}) then B (${k}x${n}) as f32: ${(m * k + k * n) * 4} bytes`, {
        field: 'input',
      });
  } else {
    onlyKeys(params, [], 'params');
  }
  return { function: body.function, params: params as JobRequest['params'], input: body.input, inputBytes };
}
