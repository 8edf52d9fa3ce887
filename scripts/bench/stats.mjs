// Small helpers every benchmark area shares: medians and percentiles, a timer, the C reference
// program (build/Release/ra-bench) and the shape of one result.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** The value at quantile q (0..1) of xs, nearest rank; NaN for no samples. */
export function quantile(xs, q) {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const median = (xs) => quantile(xs, 0.5);

/** Milliseconds since `t0` (a process.hrtime.bigint()). */
export const elapsedMs = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Runs `fn` once to warm up, then `reps` times; returns the samples (whatever fn returns). */
export async function samples(reps, fn) {
  await fn();
  const out = [];
  for (let i = 0; i < reps; i++) out.push(await fn());
  return out;
}

/**
 * `rounds` rounds of `ours()` then `reference()` (each returning samples, `ours` may be async): both
 * sides see the same minutes of the shared machine, instead of one block after the other. Returns
 * every sample of each side and each round's ratio of medians.
 */
export async function turns(rounds, ours, reference) {
  const out = { ours: [], reference: [], ratios: [] };
  for (let round = 0; round < rounds; round++) {
    const a = await ours();
    const b = reference();
    out.ours.push(...a);
    out.reference.push(...b);
    out.ratios.push(median(a) / median(b));
  }
  return out;
}

/** Runs one ra-bench mode and returns its samples (it warms up itself). */
export function cReference(...args) {
  const exe = path.join(root, 'build/Release/ra-bench');
  const out = execFileSync(exe, args.map(String), { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out).samples;
}

/**
 * One figure: `value` against `referenceValue` measured in the same run; ratio = value / reference.
 * `extra` carries figure-specific fields (a bound, the sample count, a note).
 */
export function result(name, value, unit, reference, referenceValue, extra = {}) {
  const ratio = referenceValue ? value / referenceValue : null;
  return { name, value, unit, reference, referenceValue, ratio, ...extra };
}
