// Validation of what clients send the GRM: the data model's schemas (src/common/schema/model.ts)
// through ajv, then the rules a schema cannot state, each a small named function below. Every refusal
// is RaError INVALID_REQUEST (OUTPUT_TOO_LARGE for a job whose result could not be sent back) naming
// the field, what it must be and what was found.
import type { ErrorObject } from 'ajv/dist/2020.js';
import { isCanonicalBase64 } from '../common/base64.js';
import { RaError } from '../common/errors.js';
import type { AllocationRequest } from '../common/model.js';
import {
  allocationRequestSchema,
  jobRequestSchema,
  MAX_JOB_INPUT_BYTES,
  MAX_RESOURCES,
  resizeRequestSchema,
} from '../common/schema/model.js';
import type { PlacementResource } from '../common/schema/types.js';
import { compile, firstProblem, requestRefusal, requestWording } from '../common/schema/validator.js';
import type { PlacementRequest } from '../rvl/index.js';
import { selectorOf } from '../rvl/selector.js';
import { validateElasticFields } from './elastic/validate.js';
import type { RequestClasses } from './request-classes.js';
import { type AllocationPolicy, GrmCode, type JobRequest, type ResizeRequest } from './types.js';

export { MAX_JOB_INPUT_BYTES, MAX_RESOURCES };
/** A job's output travels base64 in the response: bounded like its input. */
export const MAX_JOB_OUTPUT_BYTES = 32 * 1024 * 1024;

const invalid = (message: string, details?: Record<string, unknown>) =>
  new RaError(GrmCode.INVALID_REQUEST, message, details);

const checkAllocationRequest = compile<AllocationRequest>(allocationRequestSchema);
const checkResizeRequest = compile<ResizeRequest>(resizeRequestSchema);
const checkJobRequest = compile<JobRequest>(jobRequestSchema);

function refusal(
  errors: ErrorObject[] | null | undefined,
  data: unknown,
  whole: string,
  notAnObject: string,
) {
  const { message, details } = requestRefusal(
    firstProblem(errors ?? [], data, '', requestWording),
    whole,
    notAnObject,
  );
  return invalid(message, details);
}

export interface ValidatedAllocation {
  placement: PlacementRequest;
  policy: AllocationPolicy;
  /** A resource asks for monitoring access (adminAccess): operators only. */
  adminAccess: boolean;
}

type ClientResource = AllocationRequest['resources'][number];
type PlainClientResource = Exclude<ClientResource, { kind: 'firstAvailable' }>;

/**
 * A client's resource as the planner takes it: its class turned into the class's selector (joined with
 * its own by &&). The own selector is compiled here first, so a mistake is reported at its position
 * in what the client wrote.
 */
function resolved(r: PlainClientResource, field: string, classes: RequestClasses): PlacementResource {
  const { class: className, ...rest } = r;
  if (rest.selector !== undefined) selectorOf(rest.selector, `${field}.selector`);
  if (className === undefined) return rest as PlacementResource;
  const c = classes.get(className);
  if (!c)
    throw invalid(
      `${field}.class: no request class ${className} (classes: ${[...classes.keys()].join(', ') || 'none defined'}): ask the operator, or use a selector`,
      { field: `${field}.class` },
    );
  const selector = rest.selector === undefined ? c.selector : `(${c.selector}) && (${rest.selector})`;
  return { ...rest, selector } as PlacementResource;
}

function placementResource(r: ClientResource, i: number, classes: RequestClasses): PlacementResource {
  if (r.kind !== 'firstAvailable') return resolved(r, `resources[${i}]`, classes);
  return {
    kind: 'firstAvailable',
    alternatives: r.alternatives.map((alt, k) =>
      resolved(alt, `resources[${i}].alternatives[${k}]`, classes),
    ) as Extract<PlacementResource, { kind: 'firstAvailable' }>['alternatives'],
  };
}

const asksAdminAccess = (r: ClientResource): boolean =>
  r.kind === 'firstAvailable'
    ? r.alternatives.some((a) => a.kind === 'adapter' && a.adminAccess === true)
    : r.kind === 'adapter' && r.adminAccess === true;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function validateAllocation(body: unknown, classes: RequestClasses = new Map()): ValidatedAllocation {
  // The elastic fields' own refusals say more than a schema can ("memory is never elastic"), and their
  // cross-field rules (min <= units <= max, a compute resource to apply to) come first (issue 15).
  if (isRecord(body) && isRecord(body.policy) && Array.isArray(body.resources))
    validateElasticFields(body.policy, body.resources);
  if (!checkAllocationRequest(body))
    throw refusal(
      checkAllocationRequest.errors,
      body,
      'request',
      'the request body must be a JSON object with a "resources" array',
    );
  const policy: AllocationPolicy = { ...body.policy };
  const { sameServer, maxAdapters, allowSplit } = policy;
  return {
    // What the planner reads of the policy; the rest (lease, idle reclaim, failure handling) is the GRM's.
    placement: {
      resources: body.resources.map((r, i) => placementResource(r, i, classes)),
      ...(body.constraints ? { constraints: body.constraints.map((c) => ({ ...c })) } : {}),
      policy: {
        ...(sameServer === undefined ? {} : { sameServer }),
        ...(maxAdapters === undefined ? {} : { maxAdapters }),
        ...(allowSplit === undefined ? {} : { allowSplit }),
      },
    },
    policy,
    adminAccess: body.resources.some(asksAdminAccess),
  };
}

/** A resize names exactly one quantity: bytes for a memory resource, units for a compute one. */
function exactlyOneQuantity(request: ResizeRequest): void {
  if ((request.bytes === undefined) === (request.units === undefined))
    throw invalid('give exactly one of bytes or units', { field: 'bytes' });
}

export function validateResize(body: unknown): ResizeRequest {
  if (!checkResizeRequest(body))
    throw refusal(
      checkResizeRequest.errors,
      body,
      'resize',
      'the request body must be a JSON object: {"resource": N, "bytes": N} or {"resource": N, "units": N}',
    );
  exactlyOneQuantity(body);
  const { resource, bytes, units } = body;
  return bytes !== undefined ? { resource, bytes } : { resource, units: units! };
}

/** The job's input as bytes: base64 of 1..MAX_JOB_INPUT_BYTES bytes. */
function jobInputBytes(input: unknown): Buffer {
  if (typeof input !== 'string') throw invalid('input must be base64', { field: 'input' });
  if (input.length > Math.ceil(MAX_JOB_INPUT_BYTES / 3) * 4)
    throw invalid(`input is over ${MAX_JOB_INPUT_BYTES} bytes`, { field: 'input' });
  if (!isCanonicalBase64(input)) throw invalid('input must be base64', { field: 'input' });
  const bytes = Buffer.from(input, 'base64');
  if (bytes.length === 0) throw invalid('input is empty', { field: 'input' });
  if (bytes.length > MAX_JOB_INPUT_BYTES)
    throw invalid(`input is over ${MAX_JOB_INPUT_BYTES} bytes`, { field: 'input' });
  return bytes;
}

/** A matmul's output must fit one response, and its input must hold exactly A then B. */
function matmulSizes(params: { m: number; n: number; k: number }, inputBytes: number): void {
  const { m, n, k } = params;
  const outputBytes = m * n * 4;
  if (outputBytes > MAX_JOB_OUTPUT_BYTES)
    throw new RaError(
      GrmCode.OUTPUT_TOO_LARGE,
      `the output C (${m}x${n} f32) would be ${outputBytes} bytes; at most ${MAX_JOB_OUTPUT_BYTES} bytes per job: split the product into row blocks of A`,
      { field: 'params', outputBytes, limitBytes: MAX_JOB_OUTPUT_BYTES },
    );
  if (inputBytes !== (m * k + k * n) * 4)
    throw invalid(`input must hold A (${m}x${k}) then B (${k}x${n}) as f32: ${(m * k + k * n) * 4} bytes`, {
      field: 'input',
    });
}

export function validateJob(body: unknown): JobRequest & { inputBytes: Buffer } {
  // No params is the same as empty params, so that a function that needs some names the missing one.
  const job =
    typeof body === 'object' && body !== null && !Array.isArray(body) && !('params' in body)
      ? { ...body, params: {} }
      : body;
  if (!checkJobRequest(job))
    throw refusal(
      checkJobRequest.errors,
      job,
      'job',
      'the request body must be a JSON object: {"function", "params"?, "input": BASE64}',
    );
  const inputBytes = jobInputBytes(job.input);
  if (job.function === 'matmul-f32') matmulSizes(job.params!, inputBytes.length);
  return { ...job, inputBytes };
}
