// Shared by the cluster tests: the built CLI, adapter ids, and a driver-level view of an adapter's
// slice table that does not trust the GRM or the agent (it opens the model's socket itself).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Adapter } from '../../src/driver/adapter.js';
import { type SliceInfo, Slices } from '../../src/driver/slices.js';
import { startTicksOf } from '../../src/modes/cluster-up/processes.js';

export const root = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(root, 'bin/rafabric.js');
export const MiB = 1024 * 1024;

export function cli(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, RAFABRIC_LOG: 'silent', ...extraEnv },
    timeout: 180_000,
  });
}

/** "server2/ra3" -> "server2". */
export const serverOf = (adapterId: string) => adapterId.slice(0, adapterId.indexOf('/'));
/** "server2/ra3" -> 3 (the adapter's fabric port). */
export const portOf = (adapterId: string) => Number(adapterId.slice(adapterId.indexOf('/') + 3));

/** The ACTIVE slices in the adapter's registers. */
export function activeSlices(uri: string): SliceInfo[] {
  const a = Adapter.open(uri);
  try {
    return new Slices(a).inUse().filter((s) => s.state === 'active');
  } finally {
    a.close();
  }
}

/** The process runs (a zombie has ended: only its parent's wait is missing). */
export function alive(pid: number): boolean {
  return startTicksOf(pid) !== undefined;
}
