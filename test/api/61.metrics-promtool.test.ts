// `promtool check metrics` (Prometheus's own linter: naming, units, _total only on counters, help
// texts, histogram shape) on the live /metrics output of a real embedded GRM after a workload that
// makes every metric family carry series; and docs/metrics.md names exactly the families it exports.
// CI installs promtool (Debian's prometheus package, .ci/run); a machine without it skips, saying so.
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reallocateOnce } from '../../src/grm/reallocator.js';
import type { Allocation } from '../../src/grm/types.js';
import { MiB } from '../grm/helpers.js';
import { parseMetrics, useLivePool } from './metrics-live.js';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = promtool.status === 0;
const title = hasPromtool
  ? 'promtool check metrics on a live GRM'
  : 'promtool check metrics on a live GRM (SKIPPED: promtool is not installed; apt-get install --no-install-recommends prometheus)';

/** promtool's findings for `text`: its exit status and what it printed (nothing when clean). */
function check(text: string): { status: number | null; findings: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, findings: `${r.stdout}${r.stderr}`.trim() };
}

describe(title, () => {
  const live = useLivePool(2);

  /** Allocations, refusals, a bitstream load, a job, a migration and a reclaim: every family gets series. */
  async function workload(): Promise<void> {
    const post = async (body: unknown) =>
      (await live.call('alice', 'POST', '/v1/allocations', body)).json() as Allocation;
    const acc = await post({
      resources: [
        { kind: 'accelerator', function: 'aes-256-gcm' },
        { kind: 'memory', bytes: 4 * MiB },
        { kind: 'compute', units: 2 },
      ],
    });
    expect(acc.resources).toHaveLength(3);
    await live.call('alice', 'POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: 2 ** 40 }] });
    await live.call('bob', 'GET', `/v1/allocations/${acc.id}`);
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const input = randomBytes(4096);
    const job = await live.call('alice', 'POST', `/v1/allocations/${acc.id}/jobs`, {
      function: 'aes-256-gcm',
      params: { key: key.toString('hex'), iv: iv.toString('hex') },
      input: input.toString('base64'),
    });
    const c = createCipheriv('aes-256-gcm', key, iv);
    expect(
      Buffer.from((job.json() as { output: string }).output, 'base64').equals(
        Buffer.concat([c.update(input), c.final(), c.getAuthTag()]),
      ),
    ).toBe(true);
    const from = acc.resources[1]!.placements[0]!.adapter;
    const adapters = [0, 1].map((i) => `${live.pool.agent.server}/ra${i}`);
    await live.pool.grm.migrate(
      'alice',
      acc.id,
      1,
      adapters.filter((a) => a !== from),
    );
    const leased = await post({ resources: [{ kind: 'memory', bytes: 2 * MiB }], policy: { leaseMs: 1000 } });
    const grm = live.pool.grm;
    const events = await grm.exclusive(() => reallocateOnce(grm, Date.now() + 5000));
    expect(events.map((e) => e.allocation)).toEqual([leased.id]);
  }

  it.skipIf(!hasPromtool)('finds nothing in the output of an idle pool and after a workload', async () => {
    const idle = check(await live.scrapeText());
    expect(idle.findings).toBe('');
    expect(idle.status).toBe(0);
    await workload();
    const text = await live.scrapeText();
    const busy = check(text);
    expect(busy.findings).toBe('');
    expect(busy.status).toBe(0);
    // The workload reached every rafabric family: none is checked empty.
    const s = parseMetrics(text);
    const empty = [...s.types.keys()].filter(
      (name) => name.startsWith('rafabric_') && !s.samples.some((x) => x.name.startsWith(name)),
    );
    expect(empty).toEqual([]);
    // Bounded labels: no tenant, token or allocation id ever appears (ids are a-<12 hex>).
    const labelValues = s.samples.flatMap((x) => Object.values(x.labels));
    expect(labelValues.filter((v) => /alice|bob|token|^a-[0-9a-f]{12}$/.test(v))).toEqual([]);
  });

  it.skipIf(!hasPromtool)('flags what the old output had (the check can fail)', () => {
    const old = [
      '# HELP rafabric_adapter_slots_total slots the adapter has',
      '# TYPE rafabric_adapter_slots_total gauge',
      'rafabric_adapter_slots_total{adapter="vm/ra0",server="vm"} 4',
      '',
    ].join('\n');
    const r = check(old);
    expect(r.findings).toContain('non-counter metrics should not have "_total" suffix');
  });

  it('docs/metrics.md names every rafabric metric the server exports, with its type, and no other', async () => {
    const s = parseMetrics(await live.scrapeText());
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const documented = new Map(
      [...doc.matchAll(/^\| `(rafabric_[a-z_]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    const exported = new Map([...s.types].filter(([name]) => name.startsWith('rafabric_')));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(exported));
    // The process families are listed by name too.
    for (const name of s.types.keys())
      if (!name.startsWith('rafabric_'))
        expect(doc, name).toMatch(
          new RegExp(name.replace(/_(min|max|mean|stddev|p50|p90|p99)_seconds$/, '')),
        );
  });
});
