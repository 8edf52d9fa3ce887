// Watch's change detection: which adapters differ between two samples of the inventory. The
// adapter's clock (clockNs) moves on every sample and is no change by itself; everything else
// (health, slot table, slice table and its utilization counters) is.
import type { AgentAdapter } from '../agent.js';

function fingerprint(a: AgentAdapter): string {
  const { clockNs: _clock, ...rest } = a;
  return JSON.stringify(rest);
}

export class ChangeTracker {
  private last = new Map<string, string>();

  /** Every adapter of the first sample; afterwards those that changed (or appeared) since the last. */
  changed(sample: readonly AgentAdapter[]): AgentAdapter[] {
    const next = new Map(sample.map((a) => [a.id, fingerprint(a)]));
    const out = sample.filter((a) => this.last.get(a.id) !== next.get(a.id));
    this.last = next;
    return out;
  }
}
