#!/usr/bin/env node
// npm run bench:docs — regenerates every number in docs/benchmarks.md with one command: runs the
// suite (--json --check) into docs/benchmarks.json, draws the SVG plots from that file, and
// rewrites the machine and figures tables between their markers.
//   node scripts/bench/docs.mjs [--quick] [--from FILE]   (--from: redraw from a saved document)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writePlots } from './plots.mjs';
import { markdownFigures, markdownMachine } from './report.mjs';
import { root } from './stats.mjs';
import { checkTargets } from './suite.mjs';

const DOCS = path.join(root, 'docs');
const JSON_FILE = path.join(DOCS, 'benchmarks.json');
const MARKDOWN_FILE = path.join(DOCS, 'benchmarks.md');

/** Replaces what lies between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, markers kept. */
export function replaceBetween(text, name, content) {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`docs/benchmarks.md lacks the markers ${begin} ... ${end}`);
  return `${text.slice(0, i + begin.length)}\n${content}\n${text.slice(j)}`;
}

/** The markdown with its generated parts rewritten from `doc`. */
export function updateMarkdown(markdown, doc) {
  const figures = markdownFigures(doc, checkTargets(doc));
  return replaceBetween(replaceBetween(markdown, 'machine', markdownMachine(doc)), 'figures', figures);
}

function runSuiteJson(quick) {
  const run = spawnSync(
    process.execPath,
    [path.join(root, 'scripts/bench/run.mjs'), '--json', '--check', ...(quick ? ['--quick'] : [])],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 },
  );
  if (run.status !== 0) {
    process.stderr.write(`bench:docs: the suite exited with ${run.status}; docs left as they were\n`);
    process.exit(1);
  }
  return run.stdout;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, from: { type: 'string' } } });
  const text = values.from ? readFileSync(values.from, 'utf8') : runSuiteJson(values.quick ?? false);
  const doc = JSON.parse(text);
  if (!values.from || path.resolve(values.from) !== JSON_FILE) writeFileSync(JSON_FILE, text);
  for (const file of writePlots(doc, DOCS)) process.stdout.write(`wrote ${path.relative(root, file)}\n`);
  writeFileSync(MARKDOWN_FILE, updateMarkdown(readFileSync(MARKDOWN_FILE, 'utf8'), doc));
  process.stdout.write(`wrote docs/benchmarks.json and docs/benchmarks.md (${doc.results.length} figures)\n`);
}
