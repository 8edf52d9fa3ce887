#!/usr/bin/env node
// The benchmark suite (npm run bench). Every figure is a median over repeated runs after warm-up,
// beside a reference measured in the same run. Benchmarks never fail on noise: the exit status is
// non-zero only when an area could not run, or with --strict when a ratio target is short.
//   node scripts/bench/run.mjs [--quick] [--json] [--check] [--strict] [--only AREA,...] [--areas DIR]
//     --quick    fewer and shorter repetitions (the whole suite in under 2 minutes)
//     --json     one document on stdout: {"machine", "results", "notYetMeasurable", "errors"[, "check"]}
//     --check    compare ratios with the targets the issues set (scripts/bench/targets.mjs)
//     --strict   with --check: exit 1 when a ratio target is short
//     --only     run these areas only (driver, bitstream, jobs, rvl, grm, fabric, replicas, access, qemu)
//     --areas    take the area modules from DIR (the tests use it with fake modules)
import path from 'node:path';
import { parseArgs } from 'node:util';
import { areas } from './catalog.mjs';
import { checkReport, textReport } from './report.mjs';
import { checkTargets, runSuite } from './suite.mjs';

function options() {
  try {
    const { values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        check: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        only: { type: 'string' },
        areas: { type: 'string' },
      },
    });
    const known = areas.map((a) => a.area);
    const only = values.only?.split(',').map((s) => s.trim());
    const unknown = only?.filter((a) => !known.includes(a)) ?? [];
    if (unknown.length)
      throw new Error(`--only: unknown area ${unknown.join(', ')}; areas: ${known.join(', ')}`);
    if (values.strict && !values.check) throw new Error('--strict needs --check');
    return { ...values, only };
  } catch (err) {
    process.stderr.write(
      `bench: ${err.message}\nusage: node scripts/bench/run.mjs [--quick] [--json] [--check [--strict]] [--only AREA,...] [--areas DIR]\n`,
    );
    process.exit(2);
  }
}

const o = options();
const doc = await runSuite({
  quick: o.quick,
  ...(o.areas ? { dir: path.resolve(o.areas) } : {}),
  ...(o.only ? { only: o.only } : {}),
  log: (line) => process.stderr.write(`bench: ${line}\n`),
});
const checks = o.check ? checkTargets(doc) : undefined;
if (o.json) {
  process.stdout.write(`${JSON.stringify(checks ? { ...doc, check: checks } : doc, null, 2)}\n`);
  if (checks) process.stderr.write(checkReport(checks));
} else {
  process.stdout.write(textReport(doc));
  if (checks) process.stdout.write(`\n${checkReport(checks)}`);
}
const strictShort = o.strict && checks.some((c) => c.checked && c.status === 'short');
process.exitCode = doc.errors.length > 0 || strictShort ? 1 : 0;
