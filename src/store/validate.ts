// Shape and type checks for everything the store accepts from a caller or reads back from disk: the
// data model's schemas (src/common/schema/model.ts: the same ones the GRM's requests are validated
// against, so the store accepts every record the GRM can make) compiled by ajv. Checks are strict
// (unknown fields are refused) so that a typo in a caller, or a damaged file, is caught at the
// boundary instead of surfacing later as a wrong allocation. Each failure names the field's path.
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { Intent, StoredAllocation } from '../common/model.js';
import { intentSchema, MAX_EXACT_INTEGER, storedAllocationSchema } from '../common/schema/model.js';
import { compile, firstProblem, type Wording } from '../common/schema/validator.js';
import { StoreCode, StoreError } from './errors.js';

type Fields = Record<string, unknown>;

/** Thrown by the checks; callers re-wrap it (INVALID_ARGUMENT for callers, CORRUPT for files). */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  }
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function fail(path: string, want: string, got: unknown): never {
  throw new ShapeError(`${path} must be ${want} (got ${describe(got)})`);
}

export function fields(value: unknown, path: string, allowed: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ShapeError(`${path}.${key} is not a known field (known: ${allowed.join(', ')})`);
    }
  }
  return value as Fields;
}

/** The store's words: an operator reading about a damaged file or a caller's bug. */
const storeWording: Wording = {
  alternatives: (values) => values.map(String).join(' | '),
  integer: (minimum, maximum) =>
    `an integer >= ${minimum ?? 0}${maximum === MAX_EXACT_INTEGER ? ' below 2^53' : maximum === undefined ? '' : ` and <= ${maximum}`}`,
};

function shapeError(errors: readonly ErrorObject[], value: unknown, path: string): ShapeError {
  const problem = firstProblem(errors, value, path, storeWording);
  if (problem.unknownFields) {
    return new ShapeError(
      `${problem.field}.${problem.unknownFields[0]} is not a known field (known: ${problem.knownFields?.join(', ')})`,
    );
  }
  return new ShapeError(`${problem.field} ${problem.rule} (got ${describe(problem.value)})`);
}

function checker<T>(validate: ValidateFunction<T>) {
  return (value: unknown, path: string): T => {
    if (!validate(value)) throw shapeError(validate.errors ?? [], value, path);
    return value;
  };
}

const validStoredAllocation = checker(compile<StoredAllocation>(storedAllocationSchema));
const validIntent = checker(compile<Intent>(intentSchema));

export function checkAllocation(value: unknown, path = 'allocation'): StoredAllocation {
  return validStoredAllocation(value, path);
}

export function checkIntent(value: unknown, path = 'intent'): Intent {
  return validIntent(value, path);
}

export function checkId(value: unknown, path = 'id'): string {
  if (typeof value !== 'string' || value.length === 0) fail(path, 'a non-empty string', value);
  return value;
}

/**
 * The caller's value as the store will keep it: a JSON round trip (so what is kept in memory is exactly
 * what a replay reads back: no undefined fields, no shared references), then checked.
 */
export function normalized<T>(value: unknown, check: (value: unknown, path: string) => T, path: string): T {
  return normalizedWithJson(value, check, path).value;
}

/**
 * normalized(), and the JSON text it was parsed from: the serialization of the kept value too (a JSON
 * round trip of parsed JSON gives the same text back), so the journal line reuses it instead of
 * serializing the record a second time.
 */
export function normalizedWithJson<T>(
  value: unknown,
  check: (value: unknown, path: string) => T,
  path: string,
): { value: T; json: string } {
  let json: string;
  let copy: unknown;
  try {
    json = JSON.stringify(value) ?? 'null';
    copy = JSON.parse(json);
  } catch (err) {
    throw new StoreError(StoreCode.INVALID_ARGUMENT, `${path} cannot be stored as JSON: ${String(err)}`);
  }
  try {
    return { value: check(copy, path), json };
  } catch (err) {
    if (err instanceof ShapeError) throw new StoreError(StoreCode.INVALID_ARGUMENT, `invalid ${err.message}`);
    throw err;
  }
}
