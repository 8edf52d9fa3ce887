// Timeouts for the QEMU tests that follow how fast this host runs TCG guests right now. The same
// guest step took 25 s on a quiet machine and 465 s on the shared 2-core machine under load
// (qemu/README.md, "Figures"): a fixed bound is either too short under load or useless when quiet.
// A test measures one thing every run does (a boot), compares it with the same thing on a quiet
// machine, and stretches its other bounds by that factor, within limits.
import { existsSync, readFileSync } from 'node:fs';

/** No bound shrinks below its base; none grows past this many times it (a hung guest still fails). */
export const MAX_PACE_FACTOR = 12;

export class TcgPace {
  private constructor(readonly factor: number) {}

  /** The pace of a run whose `what` took `measuredMs`, where a quiet machine takes `quietMs`. */
  static fromMeasured(measuredMs: number, quietMs: number): TcgPace {
    return new TcgPace(Math.min(MAX_PACE_FACTOR, Math.max(1, measuredMs / quietMs)));
  }

  /** `baseMs` (the bound on a quiet machine) at this run's pace. */
  ms(baseMs: number): number {
    return Math.round(baseMs * this.factor);
  }
}

/** The last `lines` lines of each serial log, for a failing test's output (CI keeps only that). */
export function serialTails(paths: readonly string[], lines = 40): string {
  return paths
    .map((p) => {
      if (!existsSync(p)) return `--- ${p}: missing`;
      const all = readFileSync(p, 'utf8').split('\n');
      return `--- last ${Math.min(lines, all.length)} lines of ${p}\n${all.slice(-lines).join('\n')}`;
    })
    .join('\n');
}
