#!/usr/bin/env node
// `npm run sim`: runs the workload simulator (src/grm/elastic/sim) on its default trace — static
// allocation, release-when-idle and the elastic policy — prints the figures as JSON and as a markdown
// table, checks the targets of issue 15, and writes the table and two SVG plots into docs/realloc.md.
//   node scripts/sim/run.mjs [--no-docs]   (needs `npm run build:ts` first; npm run sim does it)
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { replaceBetween } from '../bench/docs.mjs';
import { lineChart } from '../bench/plots.mjs';
import { root } from '../bench/stats.mjs';

const sim = await import(path.join(root, 'dist/grm/elastic/sim/index.js'));

const pct = (x) => `${(100 * x).toFixed(1)} %`;
const num = (x, d = 1) => x.toFixed(d);

/** Issue 15's targets on the default trace, each with the figures it compares. */
export function checkTargets(results) {
  const by = Object.fromEntries(results.map((r) => [r.policy, r]));
  const e = by.elastic;
  const s = by.static;
  const w = by['release-when-idle'];
  return [
    {
      target: 'utilization ≥ 1.3× static, at the same or lower unmet demand',
      value: `${num(e.utilization / s.utilization, 2)}× static; unmet ${num(e.unmetUnitHours)} vs ${num(s.unmetUnitHours)} unit·h`,
      met: e.utilization >= 1.3 * s.utilization && e.unmetUnitHours <= s.unmetUnitHours,
    },
    {
      target: 'unmet demand ≤ 0.5× release-when-idle',
      value: `${num(e.unmetUnitHours / w.unmetUnitHours, 2)}× (${num(e.unmetUnitHours)} vs ${num(w.unmetUnitHours)} unit·h)`,
      met: e.unmetUnitHours <= 0.5 * w.unmetUnitHours,
    },
  ];
}

export function markdownTable(results) {
  const rows = [
    '| policy | pool utilization | allocated | unmet demand | unmet share | migrations | bytes migrated | preemptions (shrink / reclaim) | resizes (grow / shrink) | unused units lent (shrinks) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results)
    rows.push(
      `| ${r.policy} | ${pct(r.utilization)} | ${pct(r.allocatedShare)} | ${num(r.unmetUnitHours)} unit·h | ${pct(r.unmetShare)} | ${r.migrations} | ${r.bytesMigrated} | ${r.preemptions.shrinks} / ${r.preemptions.reclaims} | ${r.resizes.grows} / ${r.resizes.shrinks} | ${r.lends} |`,
    );
  return rows.join('\n');
}

export function markdownTargets(targets) {
  return [
    '| target | measured | met |',
    '|---|---|---|',
    ...targets.map((t) => `| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`),
  ].join('\n');
}

/** The elastic policy under other settings on the same trace: how much the figures depend on them. */
export function sensitivity(trace) {
  const rows = ['| min (share of peak) | target | cooldown | utilization | unmet |', '|---|---|---|---|---|'];
  for (const minShareOfPeak of [0.125, 0.25])
    for (const targetUtilization of [0.6, 0.7, 0.8])
      for (const cooldownMs of [10_000, 30_000, 60_000]) {
        const r = sim.simulate(trace, sim.elasticPolicy({ minShareOfPeak, targetUtilization, cooldownMs }));
        rows.push(
          `| ${minShareOfPeak} | ${targetUtilization} | ${cooldownMs / 1000} s | ${pct(r.utilization)} | ${num(r.unmetUnitHours)} unit·h |`,
        );
      }
  return rows.join('\n');
}

const plot = (results, field, title, label) =>
  lineChart({
    title,
    x: { label: 'hours into the trace', log: false },
    y: { label, log: false },
    series: results.map((r) => ({
      label: r.policy,
      points: r.series.map((p) => ({
        x: p.hour,
        y: Number((field === 'utilization' ? 100 * p[field] : p[field]).toFixed(2)),
      })),
    })),
  });

export const PLOT_FILES = { utilization: 'realloc-utilization.svg', unmet: 'realloc-unmet.svg' };

const { values } = parseArgs({ options: { 'no-docs': { type: 'boolean' } } });
const trace = sim.makeTrace();
const results = sim.comparePolicies(trace);
const targets = checkTargets(results);
const summary = results.map(({ series: _s, ...r }) => r);
process.stdout.write(
  `${JSON.stringify({ seed: trace.seed, settings: sim.DEFAULT_SETTINGS, results: summary, targets }, null, 2)}\n\n`,
);
process.stdout.write(`${markdownTable(results)}\n\n${markdownTargets(targets)}\n`);
if (!values['no-docs']) {
  const docs = path.join(root, 'docs');
  writeFileSync(
    path.join(docs, PLOT_FILES.utilization),
    plot(results, 'utilization', 'Pool utilization over the default trace (30 min means)', 'utilization (%)'),
  );
  writeFileSync(
    path.join(docs, PLOT_FILES.unmet),
    plot(results, 'unmetUnits', 'Unmet demand over the default trace (30 min means)', 'unmet demand (units)'),
  );
  const file = path.join(docs, 'realloc.md');
  let md = readFileSync(file, 'utf8');
  md = replaceBetween(md, 'sim-table', markdownTable(results));
  md = replaceBetween(md, 'sim-targets', markdownTargets(targets));
  md = replaceBetween(md, 'sim-sensitivity', sensitivity(trace));
  writeFileSync(file, md);
  process.stderr.write(
    `sim: wrote docs/realloc.md, docs/${PLOT_FILES.utilization}, docs/${PLOT_FILES.unmet}\n`,
  );
}
