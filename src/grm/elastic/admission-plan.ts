// Preemption for a NEW request (issue 15, "priorities and preemption"), planned before anything is
// touched: which lower-priority preemptible allocations to shrink (elastic compute, never below its
// min) or reclaim so that the request fits. The plan is tested against a what-if copy of the pool
// (`fits`), so it is acted on only when it makes the request fit; otherwise nothing is done. Pure: the
// caller supplies the candidates and the what-if test.

/** An allocation the request may take from, as admission sees it. */
export interface AdmissionCandidate {
  id: string;
  priority: number;
  preemptible: boolean;
  /** Its single elastic compute resource, when it has one: index, units now, elastic min. */
  elastic?: { resource: number; units: number; min: number };
  /** Everything it holds, in the request's terms (what a reclaim frees): for the victim order only. */
  size: number;
}

export type AdmissionAction =
  | { kind: 'shrink'; id: string; resource: number; from: number; to: number }
  | { kind: 'reclaim'; id: string };

/** Lowest priority first, then the most to give, then by id: stable and explainable. */
const order = (give: (c: AdmissionCandidate) => number) => (a: AdmissionCandidate, b: AdmissionCandidate) =>
  a.priority - b.priority || give(b) - give(a) || a.id.localeCompare(b.id);

/**
 * The least disruptive actions found that make the request fit, or undefined (then nothing may be
 * touched). Only candidates of strictly lower priority that are preemptible are considered; shrinks
 * come before reclaims; then actions that are not needed are dropped and shrinks taken back as far as
 * the request still fits.
 */
export function planAdmission(
  priority: number,
  candidates: readonly AdmissionCandidate[],
  fits: (actions: readonly AdmissionAction[]) => boolean,
): AdmissionAction[] | undefined {
  if (fits([])) return [];
  const eligible = candidates.filter((c) => c.preemptible && c.priority < priority);
  const spare = (c: AdmissionCandidate) => (c.elastic ? Math.max(0, c.elastic.units - c.elastic.min) : 0);
  const steps: AdmissionAction[] = [
    ...eligible
      .filter((c) => spare(c) > 0)
      .sort(order(spare))
      .map((c): AdmissionAction => {
        const e = c.elastic!;
        return { kind: 'shrink', id: c.id, resource: e.resource, from: e.units, to: e.min };
      }),
    ...[...eligible].sort(order((c) => c.size)).map((c): AdmissionAction => ({ kind: 'reclaim', id: c.id })),
  ];
  // A reclaim makes the same victim's shrink pointless.
  const effective = (list: readonly AdmissionAction[]) =>
    list.filter((a) => a.kind === 'reclaim' || !list.some((b) => b.kind === 'reclaim' && b.id === a.id));
  const first = steps.findIndex((_, n) => fits(effective(steps.slice(0, n + 1))));
  if (first < 0) return undefined;
  let taken: AdmissionAction[] = effective(steps.slice(0, first + 1));
  // Drop what is not needed, last taken first (the highest priority, the least given).
  for (const a of [...taken].reverse()) {
    const without: AdmissionAction[] = taken.filter((x) => x !== a);
    if (fits(without)) taken = without;
  }
  // Take each shrink back as far as the request still fits (a smaller shrink disturbs less).
  for (const [i, a] of taken.entries()) {
    if (a.kind !== 'shrink') continue;
    for (let to = a.from - 1; to > a.to; to--) {
      const trial = taken.map((x, j) => (j === i ? { ...a, to } : x));
      if (fits(trial)) {
        taken = trial;
        break;
      }
    }
  }
  return taken;
}
