// The benchmark plots and docs tables are drawn from a benchmark document (scripts/bench/plots.mjs,
// scripts/bench/docs.mjs): checked here on a small hand-made document, not on real figures.
import path from 'node:path';
import { describe, expect, it } from 'vitest';

interface Result {
  name: string;
  value: number;
  unit: string;
  reference: string | null;
  referenceValue: number | null;
  ratio: number | null;
  bound?: number;
}
interface Doc {
  machine: Record<string, unknown>;
  results: Result[];
  notYetMeasurable: { name: string; why: string }[];
  errors: { area: string; message: string }[];
}
interface Plots {
  planLatencySvg(doc: Doc): string;
  acceptanceSvg(doc: Doc): string;
}
interface Docs {
  replaceBetween(text: string, name: string, content: string): string;
  updateMarkdown(markdown: string, doc: Doc): string;
}

// The modules are plain ESM scripts (no types): loaded through a path the compiler does not resolve.
const script = (name: string) => path.resolve(__dirname, '../../scripts/bench', name);
const load = async <T>(name: string): Promise<T> => (await import(script(name))) as T;

const r = (name: string, value: number, referenceValue: number | null, extra = {}): Result => ({
  name,
  value,
  unit: name.includes('acceptance') ? 'fraction' : 'ms',
  reference: referenceValue === null ? null : 'first-fit (seed)',
  referenceValue,
  ratio: referenceValue === null ? null : value / referenceValue,
  ...extra,
});

const fixture: Doc = {
  machine: {
    cpuModel: 'Test CPU',
    cpus: 2,
    memoryGiB: 4,
    os: 'Linux test',
    node: 'v20',
    v8: '11',
    loadAverage1m: 1,
    loadAverage1mAtEnd: 2,
    commit: 'abc1234',
    date: '2026-11-30T00:00:00.000Z',
    quick: true,
  },
  results: [
    r('rvl.plan_p99_ms.100', 0.05, 2),
    r('rvl.plan_p99_ms.1000', 0.1, 20),
    r('rvl.plan_p99_ms.10000', 0.4, 300),
    r('rvl.acceptance.70', 0.99, 0.97, { bound: 1 }),
    r('rvl.acceptance.90', 0.93, 0.88, { bound: 0.97 }),
    r('rvl.acceptance.100', 0.85, 0.78, { bound: 0.9 }),
    r('grm.migration_interference', 30, 10, { note: 'the PATCH took 900 ms' }),
  ],
  notYetMeasurable: [{ name: 'qemu.boot_to_agent_s', why: 'waits for issue 14' }],
  errors: [],
};

interface Point {
  series: string;
  x: number;
  y: number;
  cx: number;
  cy: number;
}

function points(svg: string): Point[] {
  const out: Point[] = [];
  const re =
    /<circle class="point" data-series="([^"]+)" data-x="([^"]+)" data-y="([^"]+)" cx="([^"]+)" cy="([^"]+)"/g;
  for (const m of svg.matchAll(re)) {
    out.push({ series: m[1]!, x: Number(m[2]), y: Number(m[3]), cx: Number(m[4]), cy: Number(m[5]) });
  }
  return out;
}

const seriesNames = (svg: string) =>
  [...svg.matchAll(/<polyline class="series" data-series="([^"]+)"/g)].map((m) => m[1]);
const of = (ps: Point[], series: string) => ps.filter((p) => p.series === series).map((p) => [p.x, p.y]);

describe('benchmark plots', () => {
  it('plan latency: both strategies against pool size, on log axes', async () => {
    const { planLatencySvg } = await load<Plots>('plots.mjs');
    const svg = planLatencySvg(fixture);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(seriesNames(svg)).toEqual(['preferred (rafabric)', 'first-fit (seed)']);
    const ps = points(svg);
    expect(of(ps, 'preferred (rafabric)')).toEqual([
      [100, 0.05],
      [1000, 0.1],
      [10000, 0.4],
    ]);
    expect(of(ps, 'first-fit (seed)')).toEqual([
      [100, 2],
      [1000, 20],
      [10000, 300],
    ]);
    // log x: 100 -> 1000 and 1000 -> 10000 are the same distance; larger values sit higher (smaller cy)
    const xs = [...new Set(ps.map((p) => p.cx))].sort((a, b) => a - b);
    expect(xs).toHaveLength(3);
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[2]! - xs[1]!, 0);
    const byY = [...ps].sort((a, b) => a.y - b.y);
    for (let i = 1; i < byY.length; i++) expect(byY[i]!.cy).toBeLessThan(byY[i - 1]!.cy);
    // log y: a tenfold step is the same height anywhere (0.01 -> 0.1 -> 1 ... on the axis)
    const base = ps.find((p) => p.series === 'first-fit (seed)' && p.x === 100)!;
    const tenfold = ps.find((p) => p.series === 'first-fit (seed)' && p.x === 1000)!;
    const pre = ps.find((p) => p.series === 'preferred (rafabric)' && p.x === 100)!;
    const preTen = ps.find((p) => p.series === 'preferred (rafabric)' && p.x === 10000)!; // 0.05 -> 0.4
    expect(base.cy - tenfold.cy).toBeGreaterThan(0);
    expect((pre.cy - preTen.cy) / (base.cy - tenfold.cy)).toBeCloseTo(Math.log10(0.4 / 0.05), 2);
  });

  it('acceptance: strategy, baseline and the upper bound against offered load', async () => {
    const { acceptanceSvg } = await load<Plots>('plots.mjs');
    const svg = acceptanceSvg(fixture);
    expect(seriesNames(svg)).toEqual(['preferred (rafabric)', 'first-fit (seed)', 'upper bound']);
    const ps = points(svg);
    expect(of(ps, 'preferred (rafabric)')).toEqual([
      [70, 0.99],
      [90, 0.93],
      [100, 0.85],
    ]);
    expect(of(ps, 'first-fit (seed)')).toEqual([
      [70, 0.97],
      [90, 0.88],
      [100, 0.78],
    ]);
    expect(of(ps, 'upper bound')).toEqual([
      [70, 1],
      [90, 0.97],
      [100, 0.9],
    ]);
    // linear x: 70 -> 90 is twice as far as 90 -> 100
    const xs = [...new Set(ps.map((p) => p.cx))].sort((a, b) => a - b);
    expect((xs[1]! - xs[0]!) / (xs[2]! - xs[1]!)).toBeCloseTo(2, 2);
    expect(svg).toContain('acceptance (fraction)');
  });

  it('leaves out what was not measured, and says so when nothing was', async () => {
    const { planLatencySvg, acceptanceSvg } = await load<Plots>('plots.mjs');
    const partial = { ...fixture, results: fixture.results.filter((x) => x.name !== 'rvl.plan_p99_ms.1000') };
    expect(of(points(planLatencySvg(partial)), 'preferred (rafabric)')).toEqual([
      [100, 0.05],
      [10000, 0.4],
    ]);
    const empty = { ...fixture, results: [] };
    for (const svg of [planLatencySvg(empty), acceptanceSvg(empty)]) {
      expect(points(svg)).toEqual([]);
      expect(svg).toContain('not measured yet');
    }
  });
});

describe('docs/benchmarks.md generation', () => {
  it('rewrites the machine and figures between their markers and keeps the prose', async () => {
    const { updateMarkdown } = await load<Docs>('docs.mjs');
    const md = [
      '# Benchmarks',
      'method prose',
      '<!-- bench:machine -->',
      'old machine',
      '<!-- /bench:machine -->',
      'more prose',
      '<!-- bench:figures -->',
      'old figures',
      '<!-- /bench:figures -->',
      'tail',
    ].join('\n');
    const out = updateMarkdown(md, fixture);
    expect(out).not.toContain('old machine');
    expect(out).not.toContain('old figures');
    for (const kept of ['method prose', 'more prose', 'tail']) expect(out).toContain(kept);
    expect(out).toContain('| CPU | Test CPU, 2 CPUs |');
    // a figure with its reference, its ratio and the target beside it (30 / 10 = 3× > 2×: short)
    const row = out.split('\n').find((l) => l.startsWith('| `grm.migration_interference`'))!;
    expect(row).toContain('| 30 ms |');
    expect(row).toContain('| 3× |');
    expect(row).toMatch(/within 2× its idle p99 \(issue 11\): \*\*short\*\*/);
    const accept = out.split('\n').find((l) => l.startsWith('| `rvl.acceptance.100`'))!;
    expect(accept).toMatch(/\*\*met\*\*/);
    expect(accept).toContain('<br>upper bound: 0.9 fraction');
    expect(row).toContain('<br>the PATCH took 900 ms');
    expect(out).toMatch(/\| `qemu\.boot_to_agent_s` \| not yet measurable \| waits for issue 14 \|/);
  });

  it('refuses a file without the markers, naming them', async () => {
    const { replaceBetween } = await load<Docs>('docs.mjs');
    expect(() => replaceBetween('# no markers', 'figures', 'x')).toThrow(/<!-- bench:figures -->/);
  });
});
