// Validation of the allocation policy's elastic fields (issue 15: elastic, priority, preemptible), kept
// apart from src/grm/validate.ts so the two evolve separately. Every refusal is RaError INVALID_REQUEST
// naming the field, and says what would be accepted.
import { RaError } from '../../common/errors.js';
import type { AllocationPolicy, ElasticPolicy } from '../../common/model.js';
import { MAX_COOLDOWN_MS, MAX_PRIORITY } from '../../common/schema/model.js';
import { GrmCode } from '../types.js';
import { MAX_TARGET_UTILIZATION, policyProblem } from './policy.js';

export { MAX_PRIORITY };

const invalid = (message: string, field: string) => new RaError(GrmCode.INVALID_REQUEST, message, { field });
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A client's accelerator resource asks for one context (it grows by policy only). */
const INITIAL_CONTEXTS = 1;

function elasticOf(
  kind: 'compute' | 'accelerator',
  v: unknown,
  resources: readonly unknown[],
): ElasticPolicy {
  const field = `policy.elastic.${kind}`;
  const shape = `{"min": N, "max": N, "targetUtilization": 0..${MAX_TARGET_UTILIZATION}, "cooldownMs": N}`;
  if (!isRecord(v)) throw invalid(`${field} must be an object ${shape}`, field);
  const keys = ['min', 'max', 'targetUtilization', 'cooldownMs'];
  const extra = Object.keys(v).filter((k) => !keys.includes(k));
  if (extra.length > 0)
    throw invalid(`${field}: unknown field(s) ${extra.slice(0, 3).join(', ')}; give ${shape}`, field);
  for (const k of keys)
    if (typeof v[k] !== 'number' || !Number.isFinite(v[k]))
      throw invalid(`${field}.${k} must be a number; give ${shape}`, `${field}.${k}`);
  const p = v as unknown as ElasticPolicy;
  const problem = policyProblem(p);
  if (problem) throw invalid(`${field}: ${problem}`, field);
  if (p.cooldownMs > MAX_COOLDOWN_MS)
    throw invalid(`${field}.cooldownMs must be at most ${MAX_COOLDOWN_MS}`, `${field}.cooldownMs`);
  const matching = resources.flatMap((r, i) => (isRecord(r) && r.kind === kind ? [{ r, i }] : []));
  if (matching.length === 0)
    throw invalid(`${field} is given but the request has no ${kind} resource; remove it or add one`, field);
  for (const { r, i } of matching) {
    const size = kind === 'compute' ? (r.units as number) : INITIAL_CONTEXTS;
    if (size < p.min || size > p.max)
      throw invalid(
        kind === 'compute'
          ? `resources[${i}].units ${size} is outside ${field} [${p.min}, ${p.max}]: ask for a size within the bounds`
          : `${field}: an accelerator starts with ${INITIAL_CONTEXTS} context, outside [${p.min}, ${p.max}]: use min 1`,
        kind === 'compute' ? `resources[${i}].units` : `${field}.min`,
      );
  }
  return { min: p.min, max: p.max, targetUtilization: p.targetUtilization, cooldownMs: p.cooldownMs };
}

/** The elastic fields of `policy` (already checked for unknown keys), validated against `resources`. */
export function validateElasticFields(
  policy: Record<string, unknown>,
  resources: readonly unknown[],
): AllocationPolicy {
  const out: AllocationPolicy = {};
  const { priority, preemptible, elastic } = policy;
  if (priority !== undefined) {
    if (
      typeof priority !== 'number' ||
      !Number.isSafeInteger(priority) ||
      priority < 0 ||
      priority > MAX_PRIORITY
    )
      throw invalid(
        `policy.priority must be a whole number 0..${MAX_PRIORITY} (higher goes first)`,
        'policy.priority',
      );
    out.priority = priority;
  }
  if (preemptible !== undefined) {
    if (typeof preemptible !== 'boolean')
      throw invalid('policy.preemptible must be true or false', 'policy.preemptible');
    out.preemptible = preemptible;
  }
  if (elastic !== undefined) {
    if (!isRecord(elastic))
      throw invalid(
        'policy.elastic must be an object: {"compute": {...}, "accelerator": {...}}',
        'policy.elastic',
      );
    for (const k of Object.keys(elastic))
      if (k !== 'compute' && k !== 'accelerator')
        throw invalid(
          k === 'memory'
            ? 'policy.elastic.memory: memory is never resized by policy (its contents matter); resize it with PATCH'
            : `policy.elastic.${k}: only "compute" (units) and "accelerator" (contexts) are elastic`,
          `policy.elastic.${k}`,
        );
    if (elastic.compute !== undefined || elastic.accelerator !== undefined)
      out.elastic = {
        ...(elastic.compute !== undefined
          ? { compute: elasticOf('compute', elastic.compute, resources) }
          : {}),
        ...(elastic.accelerator !== undefined
          ? { accelerator: elasticOf('accelerator', elastic.accelerator, resources) }
          : {}),
      };
  }
  return out;
}
