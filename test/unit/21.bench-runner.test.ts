// The benchmark runner (scripts/bench/run.mjs) with fake area modules: the document's shape, the
// "not yet measurable" listing, --check and --strict, and a failing area. No real benchmark runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const runner = path.resolve(__dirname, '../../scripts/bench/run.mjs');

// Every name issue 10 lists (access.* are named by the suite; the issue says "access.*").
const issueNames = [
  'regs.write_ns',
  'regs.read_ns',
  'doorbell.rtt_us.interrupt',
  'doorbell.rtt_us.poll',
  'dma.a2a_gbps.4KiB',
  'dma.a2a_gbps.64KiB',
  'dma.a2a_gbps.1MiB',
  'dma.a2a_gbps.64MiB',
  'dma.fabric_gbps.64MiB',
  'bitstream.load_mbps',
  'job.aes256gcm_gbps',
  'job.sha256_gbps',
  'rvl.plans_per_s.100',
  'rvl.plans_per_s.1000',
  'rvl.plans_per_s.10000',
  'rvl.plan_p99_ms.100',
  'rvl.plan_p99_ms.1000',
  'rvl.plan_p99_ms.10000',
  'rvl.acceptance.70',
  'rvl.acceptance.90',
  'rvl.acceptance.100',
  'grm.e2e_pairs_per_s',
  'grm.e2e_p99_ms',
  'grm.migration_interference',
  'grm.rss_mb.10000',
  'qemu.boot_to_agent_s',
  'qemu.integration_s',
];

interface Doc {
  machine: Record<string, unknown>;
  results: Record<string, unknown>[];
  notYetMeasurable: { name: string; why: string }[];
  errors: { area: string; message: string }[];
  check?: { name: string; status: string; checked: boolean; observed: number | null }[];
}

// value depends on `quick` so the test sees the flag reach the module.
const fakeDriver = `
export async function run({ quick }) {
  return [
    { name: 'regs.write_ns', value: quick ? 3 : 4, unit: 'ns', reference: 'C loop', referenceValue: 2, ratio: (quick ? 3 : 4) / 2 },
    { name: 'doorbell.rtt_us.interrupt', value: 40, unit: 'us', reference: 'C eventfd', referenceValue: 20, ratio: 2 },
  ];
}`;
const fakeJobs = `
export async function run() {
  return [{ name: 'job.sha256_gbps', value: 1, unit: 'GB/s', reference: 'node:crypto', referenceValue: 1, ratio: 1 }];
}`;
const fakeGrmMet = `
export async function run() {
  return [{ name: 'grm.migration_interference', value: 15, unit: 'ms', reference: 'idle p99', referenceValue: 10, ratio: 1.5 }];
}`;
const fakeBitstreamFailing = `export async function run() { throw new Error('the fake model did not start'); }`;
const fakeBitstreamMalformed = `export async function run() { return [{ name: 'bitstream.load_mbps', value: 1 }]; }`;

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-bench-fake-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

function run(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [runner, '--areas', dir, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('benchmark runner', () => {
  let good: string;
  let failing: string;
  beforeAll(() => {
    good = dirWith({ 'driver.mjs': fakeDriver, 'jobs.mjs': fakeJobs });
    failing = dirWith({ 'driver.mjs': fakeDriver, 'bitstream.mjs': fakeBitstreamFailing });
  });
  afterAll(() => {
    for (const d of [good, failing]) rmSync(d, { recursive: true, force: true });
  });

  it('--json prints one document: machine, results with reference and ratio', () => {
    const r = run(good, '--json', '--quick');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(Object.keys(doc).sort()).toEqual(['errors', 'machine', 'notYetMeasurable', 'results']);
    expect(doc.machine).toMatchObject({ cpus: os.cpus().length, node: process.version, quick: true });
    expect(typeof doc.machine.cpuModel).toBe('string');
    expect(doc.results.map((x) => x.name)).toEqual([
      'regs.write_ns',
      'doorbell.rtt_us.interrupt',
      'job.sha256_gbps',
    ]);
    for (const x of doc.results) {
      for (const key of ['name', 'value', 'unit', 'reference', 'referenceValue', 'ratio'])
        expect(x).toHaveProperty(key);
    }
    expect(doc.results[0]).toMatchObject({ value: 3, referenceValue: 2, ratio: 1.5 }); // the quick value
    expect(doc.errors).toEqual([]);
  });

  it('lists every name it did not measure, with the reason; none is silently missing', () => {
    const doc = JSON.parse(run(good, '--json', '--quick').stdout) as Doc;
    const measured = doc.results.map((x) => x.name as string);
    const pending = doc.notYetMeasurable.map((p) => p.name);
    for (const name of issueNames)
      expect([...measured, ...pending].filter((n) => n === name)).toEqual([name]);
    expect(pending.some((n) => n.startsWith('access.'))).toBe(true);
    const why = new Map(doc.notYetMeasurable.map((p) => [p.name, p.why]));
    expect(why.get('rvl.plans_per_s.10000')).toMatch(/scripts\/bench\/rvl\.mjs/); // no module in the fake set
    expect(why.get('grm.rss_mb.10000')).toMatch(/rvl\.mjs/);
    expect(why.get('qemu.boot_to_agent_s')).toMatch(/scripts\/bench\/qemu\.mjs/);
    expect(why.get('dma.fabric_gbps.64MiB')).toMatch(/scripts\/bench\/fabric\.mjs/);
    expect(why.get('access.mapped_gbps')).toMatch(/issue 13/);
    expect(why.get('grm.e2e_p99_ms')).toMatch(/scripts\/bench\/grm\.mjs/); // no module in the fake set
    expect(why.get('regs.read_ns')).toMatch(/not measured by scripts\/bench\/driver\.mjs/);
  });

  it('imports rvl.mjs when it exists', () => {
    const dir = dirWith({
      'rvl.mjs': `export async function run() {
        return [{ name: 'rvl.acceptance.90', value: 0.9, unit: 'fraction', reference: 'first-fit', referenceValue: 0.8, ratio: 1.125, bound: 0.95 }];
      }`,
    });
    try {
      const doc = JSON.parse(run(dir, '--json').stdout) as Doc;
      expect(doc.results).toEqual([expect.objectContaining({ name: 'rvl.acceptance.90', bound: 0.95 })]);
      const why = new Map(doc.notYetMeasurable.map((p) => [p.name, p.why]));
      expect(why.get('rvl.acceptance.70')).toMatch(/not measured by scripts\/bench\/rvl\.mjs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an area that says why it cannot run here is listed as not measurable, not as failed', () => {
    const dir = dirWith({
      'qemu.mjs': `export async function unavailable() { return 'QEMU mode not set up: run qemu/setup.sh'; }
        export async function run() { throw new Error('must not run'); }`,
    });
    try {
      const r = run(dir, '--json');
      expect(r.status).toBe(0);
      const doc = JSON.parse(r.stdout) as Doc;
      expect(doc.errors).toEqual([]);
      const why = new Map(doc.notYetMeasurable.map((p) => [p.name, p.why]));
      expect(why.get('qemu.boot_to_agent_s')).toBe(
        'not measurable here: QEMU mode not set up: run qemu/setup.sh',
      );
      expect(why.get('qemu.integration_s')).toMatch(/not measurable here/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints a table for people by default', () => {
    const r = run(good);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^regs\.write_ns\s+4\s+ns\s+2 ns \(C loop\)\s+2×$/m);
    expect(r.stdout).toMatch(/not yet measurable:\n\s+regs\.read_ns/);
  });

  it('--check lists the short ratio targets and still exits 0; --strict exits 1', () => {
    const check = run(good, '--check');
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/SHORT\s+doorbell\.rtt_us\.interrupt\s+2\s+ratio <= 1\.5 \(issue 13\)/);
    const doc = JSON.parse(run(good, '--json', '--check').stdout) as Doc;
    expect(doc.check?.find((c) => c.name === 'doorbell.rtt_us.interrupt')).toMatchObject({
      status: 'short',
      checked: true,
      observed: 2,
    });
    expect(run(good, '--check', '--strict').status).toBe(1);
    const met = dirWith({ 'grm.mjs': fakeGrmMet });
    try {
      const strict = run(met, '--check', '--strict');
      expect(strict.stdout).toMatch(/met\s+grm\.migration_interference\s+1\.5\s+ratio <= 2 \(issue 11\)/);
      expect(strict.status).toBe(0); // nothing short: strict passes
    } finally {
      rmSync(met, { recursive: true, force: true });
    }
  });

  it('a failing area is reported, the others still run, and the exit status is 1', () => {
    const r = run(failing, '--json');
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.errors).toEqual([{ area: 'bitstream', message: 'the fake model did not start' }]);
    expect(doc.results.map((x) => x.name)).toContain('regs.write_ns');
    expect(doc.notYetMeasurable.find((p) => p.name === 'bitstream.load_mbps')?.why).toMatch(/failed/);
  });

  it('refuses a malformed result and bad options with a clear message', () => {
    const dir = dirWith({ 'bitstream.mjs': fakeBitstreamMalformed });
    try {
      const doc = JSON.parse(run(dir, '--json').stdout) as Doc;
      expect(doc.errors[0]?.message).toMatch(/bitstream\.mjs returned a result without unit, reference/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const bad = run(good, '--only', 'nope');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown area nope; areas: driver, bitstream/);
    expect(run(good, '--strict').stderr).toMatch(/--strict needs --check/);
  });
});
