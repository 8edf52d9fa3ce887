// The benchmark suite without its command line: runs area modules, collects one document
// {machine, results, notYetMeasurable, errors}, and checks results against the targets table.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { areas as catalog } from './catalog.mjs';
import { root } from './stats.mjs';
import { targets as defaultTargets } from './targets.mjs';

const RESULT_KEYS = ['name', 'value', 'unit', 'reference', 'referenceValue', 'ratio'];

export function machineInfo() {
  const cpus = os.cpus();
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: the commit stays unknown
  }
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
    commit,
    date: new Date().toISOString(),
  };
}

/** A result as the document carries it; refuses a module's malformed result with its name. */
function checked(area, r) {
  const missing = RESULT_KEYS.filter((k) => !(k in (r ?? {})));
  if (missing.length) throw new Error(`${area}.mjs returned a result without ${missing.join(', ')}`);
  if (typeof r.value !== 'number' || !Number.isFinite(r.value))
    throw new Error(`${area}.mjs: ${r.name} has no finite value (${r.value})`);
  return r;
}

/**
 * Runs the areas whose module exists in `dir` (all, or those in `only`), in catalogue order.
 * A failing area is recorded in `errors` and its names listed as failed; the others still run.
 */
export async function runSuite({
  quick = false,
  dir = path.join(root, 'scripts/bench'),
  only,
  log = () => {},
}) {
  const started = machineInfo();
  const results = [];
  const notYetMeasurable = [];
  const errors = [];
  for (const entry of catalog) {
    const file = path.join(dir, `${entry.area}.mjs`);
    const pending = (names, why) => notYetMeasurable.push(...names.map((name) => ({ name, why })));
    if (only && !only.includes(entry.area)) {
      pending(entry.names, `not run: --only ${only.join(',')}`);
      continue;
    }
    if (!existsSync(file)) {
      pending(entry.names, `waits for ${entry.waitsFor ?? `scripts/bench/${entry.area}.mjs`}`);
      continue;
    }
    const t0 = Date.now();
    try {
      const mod = await import(pathToFileURL(file).href);
      // An area that needs what this machine lacks (QEMU's guest image) says why instead of failing.
      const why = await mod.unavailable?.();
      if (why) {
        pending(entry.names, `not measurable here: ${why}`);
        log(`${entry.area}: not measurable here: ${why}`);
        continue;
      }
      const got = (await mod.run({ quick })).map((r) => checked(entry.area, r));
      results.push(...got);
      const measured = new Set(got.map((r) => r.name));
      pending(
        entry.names.filter((n) => !measured.has(n)),
        `not measured by scripts/bench/${entry.area}.mjs yet`,
      );
      log(`${entry.area}: ${got.length} figures in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      errors.push({ area: entry.area, message: err instanceof Error ? err.message : String(err) });
      pending(entry.names, `failed: see errors (${entry.area})`);
      log(`${entry.area}: FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${err?.message ?? err}`);
    }
  }
  const machine = { ...started, loadAverage1mAtEnd: Math.round(os.loadavg()[0] * 100) / 100, quick };
  return { machine, results, notYetMeasurable, errors };
}

const compare = {
  '<=': (a, b) => a <= b,
  '<': (a, b) => a < b,
  '>=': (a, b) => a >= b,
  '>': (a, b) => a > b,
};

/**
 * Each target with what was measured: status 'met' | 'short' | 'not measured'; `checked` false for
 * absolute targets (machine-dependent: reported, never counted by --strict).
 */
export function checkTargets(doc, targets = defaultTargets) {
  const byName = new Map(doc.results.map((r) => [r.name, r]));
  return targets.map((t) => {
    const r = byName.get(t.name);
    let observed = null;
    if (r && t.kind === 'ratio') observed = r.ratio;
    if (r && t.kind === 'absolute') observed = r.value;
    if (r && t.kind === 'versus') {
      const other = byName.get(t.other);
      observed = other?.value ? r.value / other.value : null;
    }
    const status =
      observed === null || observed === undefined || !Number.isFinite(observed)
        ? 'not measured'
        : compare[t.op](observed, t.threshold)
          ? 'met'
          : 'short';
    return { ...t, observed, status, checked: t.kind !== 'absolute' };
  });
}
