// The allocation policy's elastic fields (issue 15) as the GRM validates them: what is accepted and
// stored, and every refusal naming its field.
import { describe, expect, it } from 'vitest';
import { RaError } from '../../src/common/errors.js';
import { validateAllocation } from '../../src/grm/validate.js';

const elastic = { min: 1, max: 8, targetUtilization: 0.6, cooldownMs: 1000 };
const request = (policy: unknown, resources: unknown[] = [{ kind: 'compute', units: 2 }]) => ({
  resources,
  policy,
});

function refusal(body: unknown): { field: unknown; message: string } {
  try {
    validateAllocation(body);
  } catch (err) {
    expect(err).toBeInstanceOf(RaError);
    expect((err as RaError).code).toBe('INVALID_REQUEST');
    return { field: (err as RaError).details?.field, message: (err as Error).message };
  }
  throw new Error('accepted');
}

describe('elastic policy fields', () => {
  it('accepts and keeps elastic compute, priority and preemptible', () => {
    const { policy } = validateAllocation(
      request({ elastic: { compute: elastic }, priority: 5, preemptible: true }),
    );
    expect(policy).toEqual({ elastic: { compute: elastic }, priority: 5, preemptible: true });
  });

  it.each([
    [
      'memory is never elastic',
      { elastic: { memory: elastic } },
      'policy.elastic.memory',
      /never resized by policy/,
    ],
    [
      'an unknown elastic kind',
      { elastic: { logic: elastic } },
      'policy.elastic.logic',
      /only "compute" \(units\) and "accelerator" \(contexts\)/,
    ],
    [
      'elastic contexts without an accelerator resource',
      { elastic: { accelerator: elastic } },
      'policy.elastic.accelerator',
      /no accelerator resource/,
    ],
    ['min below 1', { elastic: { compute: { ...elastic, min: 0 } } }, 'policy.elastic.compute', /min/],
    ['max below min', { elastic: { compute: { ...elastic, max: 0 } } }, 'policy.elastic.compute', /max/],
    [
      'target above 0.95',
      { elastic: { compute: { ...elastic, targetUtilization: 1 } } },
      'policy.elastic.compute',
      /targetUtilization/,
    ],
    [
      'a missing field',
      { elastic: { compute: { min: 1, max: 2, targetUtilization: 0.5 } } },
      'policy.elastic.compute.cooldownMs',
      /cooldownMs/,
    ],
    [
      'an unknown field',
      { elastic: { compute: { ...elastic, burst: 2 } } },
      'policy.elastic.compute',
      /unknown/,
    ],
    ['priority not a whole number', { priority: 1.5 }, 'policy.priority', /0\.\.1000/],
    ['priority too high', { priority: 1001 }, 'policy.priority', /0\.\.1000/],
    ['preemptible not a boolean', { preemptible: 'yes' }, 'policy.preemptible', /true or false/],
  ])('refuses %s, naming the field', (_name, policy, field, message) => {
    const r = refusal(request(policy));
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });

  it('accepts elastic accelerator contexts starting at 1 (min 1), refuses a min above 1', () => {
    const aes = [{ kind: 'accelerator', function: 'aes-256-gcm' }];
    const { policy } = validateAllocation(request({ elastic: { accelerator: elastic } }, aes));
    expect(policy.elastic).toEqual({ accelerator: elastic });
    const r = refusal(request({ elastic: { accelerator: { ...elastic, min: 2 } } }, aes));
    expect(r.field).toBe('policy.elastic.accelerator.min');
    expect(r.message).toMatch(/starts with 1 context/);
  });

  it('refuses elastic compute without a compute resource, and a size outside [min, max]', () => {
    expect(
      refusal(request({ elastic: { compute: elastic } }, [{ kind: 'memory', bytes: 2 * 1024 * 1024 }]))
        .message,
    ).toMatch(/no compute resource/);
    const r = refusal(request({ elastic: { compute: elastic } }, [{ kind: 'compute', units: 9 }]));
    expect(r.field).toBe('resources[0].units');
    expect(r.message).toMatch(/outside/);
  });
});
