// Every figure the benchmark suite reports (issue 10), by area. An area is a module
// scripts/bench/<area>.mjs exporting `run({ quick })`; an area without a module names the issue
// whose work makes its figures measurable. The runner lists every name here that was not measured,
// with the reason, so nothing is ever silently missing.

const sizes = (prefix, xs) => xs.map((x) => `${prefix}.${x}`);

export const areas = [
  {
    area: 'driver',
    names: [
      'regs.write_ns',
      'regs.read_ns',
      'doorbell.rtt_us.interrupt',
      'doorbell.rtt_us.poll',
      ...sizes('dma.a2a_gbps', ['4KiB', '64KiB', '1MiB', '64MiB']),
    ],
  },
  { area: 'bitstream', names: ['bitstream.load_mbps'] },
  { area: 'jobs', names: ['job.aes256gcm_gbps', 'job.sha256_gbps'] },
  {
    area: 'rvl',
    names: [
      ...sizes('rvl.plans_per_s', [100, 1000, 10000]),
      ...sizes('rvl.plan_p99_ms', [100, 1000, 10000]),
      ...sizes('rvl.acceptance', [70, 90, 100]),
      'grm.rss_mb.10000',
    ],
  },
  {
    area: 'grm',
    names: [
      'grm.e2e_pairs_per_s',
      'grm.e2e_saturated_p99_ms',
      'grm.e2e_p99_ms',
      'grm.migration_interference',
    ],
  },
  { area: 'fabric', names: ['dma.fabric_gbps.64MiB'] },
  { area: 'replicas', names: ['grm.replica_allocs_per_s.1', 'grm.replica_allocs_per_s.2'] },
  {
    area: 'access',
    waitsFor: 'issue 13 (instance access: the direct data path)',
    names: [
      'access.aes256gcm_gbps.direct',
      'access.aes256gcm_gbps.http',
      'access.sha256_gbps.direct',
      'access.sha256_gbps.http',
      'access.mapped_gbps',
      'access.poll_rtt_us',
      'access.poll_rtt_us_grm',
      'access.irq_rtt_us',
    ],
  },
  {
    area: 'qemu',
    names: ['qemu.boot_to_agent_s', 'qemu.integration_s'],
  },
];

export const allNames = areas.flatMap((a) => a.names);
