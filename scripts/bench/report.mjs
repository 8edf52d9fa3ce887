// Presenting a benchmark document: a text table for people, the --check listing, and the
// markdown table docs/benchmarks.md carries (each figure with its targets beside it).

/** Three significant digits, no exponent for ordinary magnitudes. */
export function formatNumber(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  if (abs === 0) return '0';
  return Number(x.toPrecision(3)).toString();
}

const ratioText = (r) => (r === null || r === undefined ? '–' : `${formatNumber(r)}×`);

function targetText(t) {
  const what = t.kind === 'ratio' ? 'ratio' : t.kind === 'versus' ? `÷ ${t.other}` : 'value';
  return `${what} ${t.op} ${formatNumber(t.threshold)} (${t.source})`;
}

function pad(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => String(c).padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function textReport(doc) {
  const m = doc.machine;
  const lines = [
    `machine: ${m.cpuModel}, ${m.cpus} CPUs, ${m.memoryGiB} GiB, ${m.os}, node ${m.node}, load ${m.loadAverage1m} -> ${m.loadAverage1mAtEnd}${m.quick ? ', --quick' : ''}`,
    '',
    pad([
      ['figure', 'value', 'unit', 'reference', 'ratio'],
      ...doc.results.map((r) => [
        r.name,
        formatNumber(r.value),
        r.unit,
        r.reference ? `${formatNumber(r.referenceValue)} ${r.unit} (${r.reference})` : '–',
        ratioText(r.ratio),
      ]),
    ]),
  ];
  if (doc.notYetMeasurable.length) {
    lines.push('', 'not yet measurable:');
    lines.push(pad(doc.notYetMeasurable.map((p) => [`  ${p.name}`, p.why])));
  }
  for (const e of doc.errors) lines.push('', `ERROR in ${e.area}: ${e.message}`);
  return `${lines.join('\n')}\n`;
}

export function checkReport(checks) {
  const row = (c) => [
    `  ${c.status === 'met' ? 'met  ' : c.status === 'short' ? 'SHORT' : '–    '}`,
    c.name,
    c.observed === null ? '–' : formatNumber(c.observed),
    targetText(c),
    c.text,
  ];
  const ratios = checks.filter((c) => c.checked);
  const absolute = checks.filter((c) => !c.checked);
  const short = ratios.filter((c) => c.status === 'short');
  return [
    `targets (ratios, from the issues): ${short.length} short, ${ratios.filter((c) => c.status === 'met').length} met, ${ratios.filter((c) => c.status === 'not measured').length} not measured`,
    pad(ratios.map(row)),
    '',
    'absolute targets (depend on the machine: reported, not checked):',
    pad(absolute.map(row)),
    '',
  ].join('\n');
}

/** The reference and its value, then the figure's note (a second comparison, a bound) if any. */
function referenceCell(r) {
  const reference = r.reference ? `${formatNumber(r.referenceValue)} ${r.unit} (${r.reference})` : '–';
  const bound = typeof r.bound === 'number' ? `<br>upper bound: ${formatNumber(r.bound)} ${r.unit}` : '';
  return `${reference}${bound}${r.note ? `<br>${r.note}` : ''}`;
}

/** The figures table of docs/benchmarks.md: each figure, its reference and ratio, its targets. */
export function markdownFigures(doc, checks) {
  const byName = new Map();
  for (const c of checks) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  const targetCell = (name) =>
    (byName.get(name) ?? [])
      .map((c) => `${c.text} (${c.source}): **${c.status}**${c.checked ? '' : ' (absolute)'}`)
      .join('<br>') || '–';
  const rows = [
    '| figure | value | reference (same run) | ratio | target |',
    '|---|---|---|---|---|',
    ...doc.results.map(
      (r) =>
        `| \`${r.name}\` | ${formatNumber(r.value)} ${r.unit} | ${referenceCell(r)} | ${ratioText(r.ratio)} | ${targetCell(r.name)} |`,
    ),
    ...doc.notYetMeasurable.map(
      (p) => `| \`${p.name}\` | not yet measurable | ${p.why} | – | ${targetCell(p.name)} |`,
    ),
  ];
  return rows.join('\n');
}

export function markdownMachine(doc) {
  const m = doc.machine;
  return [
    '| | |',
    '|---|---|',
    `| CPU | ${m.cpuModel}, ${m.cpus} CPUs |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| OS | ${m.os} |`,
    `| Node | ${m.node} (V8 ${m.v8}) |`,
    `| load average (1 min) | ${m.loadAverage1m} at start, ${m.loadAverage1mAtEnd} at end |`,
    `| run | ${m.date}, commit ${m.commit ?? 'unknown'}${m.quick ? ', `--quick`' : ''} |`,
  ].join('\n');
}
