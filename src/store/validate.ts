// Shape and type checks for everything the store accepts from a caller or reads back from disk.
// Checks are strict (unknown fields are refused) so that a typo in a caller, or a damaged file, is caught
// at the boundary instead of surfacing later as a wrong allocation. Each failure names the field's path.
import type { AllocatedResource, AllocationPolicy, Placement } from '../common/model.js';
import { StoreCode, StoreError } from './errors.js';
import type { Intent, StoredAllocation } from './store.js';

type Fields = Record<string, unknown>;

/** Thrown by the checks; callers re-wrap it (INVALID_ARGUMENT for callers, CORRUPT for files). */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

function describe(value: unknown): string {
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

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, 'an array', value);
  return value;
}

function text(o: Fields, key: string, path: string, optional = false): void {
  const value = o[key];
  if (value === undefined && optional) return;
  if (typeof value !== 'string' || value.length === 0) fail(`${path}.${key}`, 'a non-empty string', value);
}

function count(o: Fields, key: string, path: string, optional = false, min = 0): void {
  const value = o[key];
  if (value === undefined && optional) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(`${path}.${key}`, `an integer >= ${min}`, value);
  }
}

function timestamp(o: Fields, key: string, path: string, optional = false): void {
  const value = o[key];
  if (value === undefined && optional) return;
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    fail(`${path}.${key}`, 'a date-time string', value);
  }
}

function oneOf(o: Fields, key: string, path: string, allowed: readonly string[]): void {
  const value = o[key];
  if (typeof value !== 'string' || !allowed.includes(value)) {
    fail(`${path}.${key}`, allowed.join(' | '), value);
  }
}

function ownerKey(o: Fields, path: string): void {
  const value = o.ownerKey;
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{16}$/.test(value)) {
    fail(`${path}.ownerKey`, '16 hex digits', value);
  }
}

const placementFields = ['adapter', 'slice', 'offset', 'bytes', 'units', 'slot', 'context', 'contexts'];

function checkPlacement(value: unknown, path: string): Placement {
  const o = fields(value, path, placementFields);
  text(o, 'adapter', path);
  count(o, 'slice', path);
  for (const key of placementFields.slice(2)) count(o, key, path, true);
  return o as unknown as Placement;
}

function checkPlacements(value: unknown, path: string): void {
  array(value, path).forEach((p, i) => {
    checkPlacement(p, `${path}[${i}]`);
  });
}

function checkResource(value: unknown, path: string): AllocatedResource {
  const o = fields(value, path, ['kind', 'function', 'bitstream', 'bytes', 'units', 'placements']);
  oneOf(o, 'kind', path, ['accelerator', 'memory', 'compute', 'logic']);
  text(o, 'function', path, true);
  text(o, 'bitstream', path, true);
  count(o, 'bytes', path, true);
  count(o, 'units', path, true);
  checkPlacements(o.placements, `${path}.placements`);
  return o as unknown as AllocatedResource;
}

function checkPolicy(value: unknown, path: string): AllocationPolicy {
  const o = fields(value, path, [
    'sameServer',
    'maxAdapters',
    'allowSplit',
    'leaseMs',
    'idleReclaimMs',
    'onAdapterFailure',
    'elastic', // issue 15
    'priority', // issue 15
    'preemptible', // issue 15
  ]);
  text(o, 'sameServer', path, true);
  count(o, 'maxAdapters', path, true, 1);
  if (o.allowSplit !== undefined && typeof o.allowSplit !== 'boolean') {
    fail(`${path}.allowSplit`, 'a boolean', o.allowSplit);
  }
  count(o, 'leaseMs', path, true);
  count(o, 'idleReclaimMs', path, true);
  if (o.onAdapterFailure !== undefined && o.onAdapterFailure !== 'fail' && o.onAdapterFailure !== 'replace') {
    fail(`${path}.onAdapterFailure`, '"fail" or "replace"', o.onAdapterFailure);
  }
  checkElasticFields(o, path); // issue 15
  return o as AllocationPolicy;
}

// --- issue 15: elastic allocations, priorities, preemption ---
function checkElasticFields(o: Fields, path: string): void {
  count(o, 'priority', path, true);
  if (o.preemptible !== undefined && typeof o.preemptible !== 'boolean')
    fail(`${path}.preemptible`, 'a boolean', o.preemptible);
  if (o.elastic === undefined) return;
  const e = fields(o.elastic, `${path}.elastic`, ['compute']);
  if (e.compute === undefined) return;
  const c = fields(e.compute, `${path}.elastic.compute`, ['min', 'max', 'targetUtilization', 'cooldownMs']);
  count(c, 'min', `${path}.elastic.compute`, false, 1);
  count(c, 'max', `${path}.elastic.compute`, false, 1);
  count(c, 'cooldownMs', `${path}.elastic.compute`);
  const t = c.targetUtilization;
  if (typeof t !== 'number' || !(t > 0 && t <= 1))
    fail(`${path}.elastic.compute.targetUtilization`, 'a fraction in (0, 1]', t);
}
// --- end issue 15 ---

const allocationFields = [
  'id',
  'tenant',
  'state',
  'resources',
  'policy',
  'createdAt',
  'leaseExpiresAt',
  'ownerKey',
];

export function checkAllocation(value: unknown, path = 'allocation'): StoredAllocation {
  const o = fields(value, path, allocationFields);
  text(o, 'id', path);
  text(o, 'tenant', path);
  oneOf(o, 'state', path, ['active', 'released', 'lost']);
  array(o.resources, `${path}.resources`).forEach((r, i) => {
    checkResource(r, `${path}.resources[${i}]`);
  });
  checkPolicy(o.policy, `${path}.policy`);
  timestamp(o, 'createdAt', path);
  timestamp(o, 'leaseExpiresAt', path, true);
  ownerKey(o, path);
  return o as unknown as StoredAllocation;
}

export function checkIntent(value: unknown, path = 'intent'): Intent {
  const o = fields(value, path, ['id', 'tenant', 'ownerKey', 'placements', 'createdAt']);
  text(o, 'id', path);
  text(o, 'tenant', path);
  ownerKey(o, path);
  checkPlacements(o.placements, `${path}.placements`);
  timestamp(o, 'createdAt', path);
  return o as unknown as Intent;
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
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value) ?? 'null');
  } catch (err) {
    throw new StoreError(StoreCode.INVALID_ARGUMENT, `${path} cannot be stored as JSON: ${String(err)}`);
  }
  try {
    return check(copy, path);
  } catch (err) {
    if (err instanceof ShapeError) throw new StoreError(StoreCode.INVALID_ARGUMENT, `invalid ${err.message}`);
    throw err;
  }
}
