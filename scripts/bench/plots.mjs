#!/usr/bin/env node
// SVG plots from a benchmark document (plain SVG, no dependency):
//   plan latency against pool size: rvl.plan_p99_ms.{100,1000,10000}, the project's strategy (value)
//     and the seed's first-fit baseline (referenceValue), log-log;
//   acceptance against offered load: rvl.acceptance.{70,90,100}, strategy (value), baseline
//     (referenceValue) and the upper bound (the result's `bound`).
// A figure not in the document is left out of its series; a plot with no point says so.
//   node scripts/bench/plots.mjs BENCHMARKS.json OUT_DIR
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WIDTH = 560;
const HEIGHT = 340;
const MARGIN = { left: 70, right: 170, top: 40, bottom: 50 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

const xmlText = (s) =>
  String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
const fmt = (x) => Number(x.toPrecision(3)).toString();

/** Pixel scale of [min, max] onto [from, to], linear or log10. */
function scale(min, max, from, to, log) {
  const f = log ? Math.log10 : (x) => x;
  const [a, b] = [f(min), f(max)];
  return (x) => from + ((f(x) - a) / (b - a || 1)) * (to - from);
}

/** A round step (1, 2, 2.5 or 5 times a power of ten) that cuts `span` into about five parts. */
function niceStep(span) {
  const raw = span / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return power * ([1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10);
}

/** Ticks: powers of ten for a log axis, round steps for a linear one. */
function ticks(min, max, log) {
  const out = [];
  if (log) {
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
    return out;
  }
  const step = niceStep(max - min);
  for (let v = min; v <= max + step / 1e6; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * A line chart. series: [{ label, points: [{ x, y }] }]; axes: { x: { label, log, values? },
 * y: { label, log, min?, max? } }. Points carry data-series/data-x/data-y so tests can read them.
 */
export function lineChart({ title, x, y, series }) {
  const points = series.flatMap((s) => s.points);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">\n<title>${xmlText(title)}</title>\n<rect width="100%" height="100%" fill="white"/>\n<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${xmlText(title)}</text>\n`;
  if (points.length === 0) {
    return `${head}<text class="empty" x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">not measured yet: run npm run bench:docs</text>\n</svg>\n`;
  }
  const positive = (xs) => (x.log || y.log ? xs.filter((v) => v > 0) : xs);
  const xsAll = positive(x.values ?? points.map((p) => p.x));
  const ysAll = positive(points.map((p) => p.y));
  const xMin = Math.min(...xsAll);
  const xMax = Math.max(...xsAll);
  const yMin = y.min ?? (y.log ? 10 ** Math.floor(Math.log10(Math.min(...ysAll))) : 0);
  const top = Math.max(...ysAll);
  const yMax =
    y.max ?? (y.log ? 10 ** Math.ceil(Math.log10(top)) : Math.ceil(top / niceStep(top)) * niceStep(top));
  const right = WIDTH - MARGIN.right;
  const bottom = HEIGHT - MARGIN.bottom;
  const sx = scale(xMin, xMax, MARGIN.left, right, x.log);
  const sy = scale(yMin, yMax, bottom, MARGIN.top, y.log);
  const parts = [head];
  parts.push(`<g class="axes" stroke="#333">`);
  parts.push(`<line x1="${MARGIN.left}" y1="${bottom}" x2="${right}" y2="${bottom}"/>`);
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${bottom}"/>`);
  parts.push('</g>');
  for (const v of x.values ?? ticks(xMin, xMax, x.log)) {
    parts.push(
      `<text class="xtick" x="${sx(v).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${fmt(v)}</text>`,
    );
  }
  for (const v of ticks(yMin, yMax, y.log)) {
    parts.push(
      `<text class="ytick" x="${MARGIN.left - 6}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`,
    );
    parts.push(
      `<line x1="${MARGIN.left}" y1="${sy(v).toFixed(1)}" x2="${right}" y2="${sy(v).toFixed(1)}" stroke="#ddd"/>`,
    );
  }
  parts.push(
    `<text x="${(MARGIN.left + right) / 2}" y="${HEIGHT - 12}" text-anchor="middle">${xmlText(x.label)}</text>`,
  );
  parts.push(
    `<text x="16" y="${(MARGIN.top + bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(MARGIN.top + bottom) / 2})">${xmlText(y.label)}</text>`,
  );
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const drawn = s.points.filter((p) => (!x.log || p.x > 0) && (!y.log || p.y > 0));
    const coords = drawn.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline class="series" data-series="${xmlText(s.label)}" fill="none" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${coords}"/>`,
    );
    for (const p of drawn) {
      parts.push(
        `<circle class="point" data-series="${xmlText(s.label)}" data-x="${p.x}" data-y="${p.y}" cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3.5" fill="${colour}"/>`,
      );
    }
    const ly = MARGIN.top + 10 + i * 20;
    parts.push(
      `<line x1="${right + 14}" y1="${ly}" x2="${right + 38}" y2="${ly}" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    parts.push(`<text class="legend" x="${right + 44}" y="${ly + 4}">${xmlText(s.label)}</text>`);
  });
  parts.push('</svg>\n');
  return parts.join('\n');
}

function seriesOf(doc, prefix, keys, field) {
  const byName = new Map(doc.results.map((r) => [r.name, r]));
  return keys
    .map((k) => ({ x: k, r: byName.get(`${prefix}.${k}`) }))
    .filter(({ r }) => r && typeof r[field] === 'number' && Number.isFinite(r[field]))
    .map(({ x, r }) => ({ x, y: r[field] }));
}

export const POOL_SIZES = [100, 1000, 10000];
export const OFFERED_LOADS = [70, 90, 100];

export function planLatencySvg(doc) {
  return lineChart({
    title: 'Plan latency (p99) against pool size',
    x: { label: 'adapters in the pool', log: true, values: POOL_SIZES },
    y: { label: 'p99 plan latency (ms)', log: true },
    series: [
      { label: 'preferred (rafabric)', points: seriesOf(doc, 'rvl.plan_p99_ms', POOL_SIZES, 'value') },
      { label: 'first-fit (seed)', points: seriesOf(doc, 'rvl.plan_p99_ms', POOL_SIZES, 'referenceValue') },
    ],
  });
}

export function acceptanceSvg(doc) {
  const unit = doc.results.find((r) => r.name.startsWith('rvl.acceptance.'))?.unit ?? '';
  return lineChart({
    title: 'Acceptance against offered load (churn trace)',
    x: { label: 'offered load (%)', log: false, values: OFFERED_LOADS },
    y: { label: `acceptance${unit ? ` (${unit})` : ''}`, log: false },
    series: [
      { label: 'preferred (rafabric)', points: seriesOf(doc, 'rvl.acceptance', OFFERED_LOADS, 'value') },
      { label: 'first-fit (seed)', points: seriesOf(doc, 'rvl.acceptance', OFFERED_LOADS, 'referenceValue') },
      { label: 'upper bound', points: seriesOf(doc, 'rvl.acceptance', OFFERED_LOADS, 'bound'), dashed: true },
    ],
  });
}

export const PLOT_FILES = { planLatency: 'bench-plan-latency.svg', acceptance: 'bench-acceptance.svg' };

/** Writes both plots of `doc` into `dir`; returns their paths. */
export function writePlots(doc, dir) {
  const files = [
    [path.join(dir, PLOT_FILES.planLatency), planLatencySvg(doc)],
    [path.join(dir, PLOT_FILES.acceptance), acceptanceSvg(doc)],
  ];
  for (const [file, svg] of files) writeFileSync(file, svg);
  return files.map(([file]) => file);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [input, outDir] = process.argv.slice(2);
  if (!input || !outDir) {
    process.stderr.write('usage: node scripts/bench/plots.mjs BENCHMARKS.json OUT_DIR\n');
    process.exit(2);
  }
  for (const file of writePlots(JSON.parse(readFileSync(input, 'utf8')), outDir))
    process.stdout.write(`${file}\n`);
}
