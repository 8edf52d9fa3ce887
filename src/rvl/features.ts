// The request language above the placement loop (docs/grm.md "Request language"): selectors, whole
// adapters (a count, or all that match), prioritized alternatives (firstAvailable), monitoring access
// and hard constraints across resources. They are turned into units, the plain resources the loop
// places, and searched over here, the same way for every strategy and for the live index, so each
// answers what the others answer. A request that uses none of them goes straight to the loop.
//
// The search is bounded: alternatives are tried in order, lexicographically over the resources that
// have them (the first resource's first alternative, then its second, ...), and for each choice the
// constraints' values: first the plan without them (often it already keeps them), then each value of
// the attribute, the one the free plan chose first. At most MAX_PLAN_ATTEMPTS plans per request.

import { attributeKey } from './attributes.js';
import type { AdapterAvailability } from './availability.js';
import type { CoreResource, PlanFailure, PlanResult, Unit, UnplacedWhy } from './plan.js';
import type { PlacementPolicy, PlacementRequest, Resource } from './request.js';
import { type Selector, selectorOf } from './selector.js';
import { entirelyFree } from './whole.js';

/** Most plans one request may cost (alternatives times constraint values). */
export const MAX_PLAN_ATTEMPTS = 512;

/** What the search needs of a planner: the pool in id order, one adapter by id, the loop over units. */
export interface UnitPlanner {
  adapters: readonly AdapterAvailability[];
  adapter(id: string): AdapterAvailability | undefined;
  plan(units: readonly Unit[], policy: PlacementPolicy): PlanResult;
}

type Plain = Exclude<Resource, { kind: 'firstAvailable' }>;
type Constraint = NonNullable<PlacementRequest['constraints']>[number];

const isPlainKind = (r: Resource) =>
  r.kind === 'memory' || r.kind === 'compute' || r.kind === 'accelerator' || r.kind === 'logic';

/** No feature of the request language: the loop places the resources as they are. */
function isPlain(request: PlacementRequest): boolean {
  if (request.constraints?.length) return false;
  for (const r of request.resources) if (!isPlainKind(r) || r.selector !== undefined) return false;
  return true;
}

const both = (x: Selector | undefined, y: Selector): Selector => (x ? (a) => x(a) && y(a) : y);

/** Compiled selectors, by resource and alternative: each is compiled once per request. */
function compileSelectors(request: PlacementRequest): (Selector | undefined)[][] {
  return request.resources.map((r, i) =>
    r.kind === 'firstAvailable'
      ? r.alternatives.map((alt, k) =>
          alt.selector === undefined
            ? undefined
            : selectorOf(alt.selector, `resources[${i}].alternatives[${k}].selector`),
        )
      : [r.selector === undefined ? undefined : selectorOf(r.selector, `resources[${i}].selector`)],
  );
}

function failure(
  resourceIndex: number,
  kind: Resource['kind'],
  why: UnplacedWhy,
  message: string,
): PlanFailure {
  return {
    ok: false,
    reason: 'RESOURCE_UNAVAILABLE',
    details: { resourceIndex, kind, why, message: `resources[${resourceIndex}]: ${message}`, skipped: {} },
  };
}

/** Adapters an allocation mode "all" takes or a monitor watches: matching, and (to take) usable. */
function matching(
  adapters: readonly AdapterAvailability[],
  selector: Selector | undefined,
): AdapterAvailability[] {
  return selector ? adapters.filter(selector) : [...adapters];
}

interface Expanded {
  units: Unit[];
  monitors: Record<number, string[]>;
}

type AdapterResource = Extract<Plain, { kind: 'adapter' }>;

/** The units of one resource under its chosen alternative, or a failure that no search can undo. */
function expand(
  r: Plain,
  origin: number,
  selector: Selector | undefined,
  planner: UnitPlanner,
  policy: PlacementPolicy,
  out: Expanded,
): PlanFailure | undefined {
  if (r.kind !== 'adapter') {
    out.units.push({ resource: r as CoreResource, origin, ...(selector ? { selector } : {}) });
    return undefined;
  }
  return expandAdapters(r, origin, selector, planner, policy, out);
}

function expandAdapters(
  r: AdapterResource,
  origin: number,
  selector: Selector | undefined,
  planner: UnitPlanner,
  policy: PlacementPolicy,
  out: Expanded,
): PlanFailure | undefined {
  const all = r.allocationMode === 'all';
  const count = r.count ?? 1;
  if (r.adminAccess) {
    // Watching takes nothing: any matching adapter, in use or not, healthy or not.
    const watched = matching(planner.adapters, selector);
    if (watched.length === 0 || (!all && watched.length < count))
      return failure(
        origin,
        'adapter',
        'NO_MATCHING_ADAPTER',
        `${watched.length} adapter(s) match, ${all ? 'at least 1' : count} wanted for monitoring`,
      );
    out.monitors[origin] = (all ? watched : watched.slice(0, count)).map((a) => a.id);
    return undefined;
  }
  if (!all) {
    for (let k = 0; k < count; k++)
      out.units.push({ resource: { kind: 'adapter' }, origin, ...(selector ? { selector } : {}) });
    return undefined;
  }
  // "all": every matching adapter that may take slices at all must be free, each pinned as one unit.
  const usable = matching(planner.adapters, selector).filter(
    (a) => a.health === 'healthy' || (a.health === 'degraded' && policy.allowDegraded === true),
  );
  if (usable.length === 0)
    return failure(
      origin,
      'adapter',
      'NO_MATCHING_ADAPTER',
      'allocationMode "all": no usable adapter matches the selector',
    );
  const busy = usable.filter((a) => !entirelyFree(a));
  if (busy.length)
    return failure(
      origin,
      'adapter',
      'NOT_ENOUGH_FREE',
      `allocationMode "all": ${busy.length} of the ${usable.length} matching adapters are not entirely free (${busy
        .slice(0, 8)
        .map((a) => a.id)
        .join(', ')}${busy.length > 8 ? ', ...' : ''}): narrow the selector or wait for them`,
    );
  for (const a of usable) {
    const id = a.id;
    out.units.push({ resource: { kind: 'adapter' }, origin, selector: (x) => x.id === id });
  }
  return undefined;
}

/** Whether the plan keeps every constraint: per constraint, one value over its resources' adapters. */
function keeps(
  result: PlanResult,
  constraints: readonly Constraint[],
  byId: (id: string) => AdapterAvailability | undefined,
): boolean {
  if (!result.ok) return false;
  return constraints.every((c) => sharedValue(result, c, byId) !== null);
}

/** The one value of the constraint's attribute over its resources' slices; null when there are two. */
function sharedValue(
  result: Extract<PlanResult, { ok: true }>,
  c: Constraint,
  byId: (id: string) => AdapterAvailability | undefined,
): string | undefined | null {
  let value: string | undefined;
  for (const p of result.plan.placements) {
    if (c.resources && !c.resources.includes(p.resourceIndex)) continue;
    const v = attributeKey(byId(p.adapter)!, c.matchAttribute);
    if (value === undefined) value = v;
    else if (v !== value) return null;
  }
  return value;
}

class Search {
  attempts = 0;
  private readonly byId: (id: string) => AdapterAvailability | undefined;
  private readonly values = new Map<string, string[]>();

  constructor(
    private readonly planner: UnitPlanner,
    private readonly policy: PlacementPolicy,
    private readonly constraints: readonly Constraint[],
  ) {
    this.byId = (id) => planner.adapter(id);
  }

  get exhausted(): boolean {
    return this.attempts >= MAX_PLAN_ATTEMPTS;
  }

  run(units: readonly Unit[]): PlanResult {
    this.attempts++;
    return this.planner.plan(units, this.policy);
  }

  /** Every value the attribute has in the pool, sorted. */
  private valuesOf(attribute: string): string[] {
    let values = this.values.get(attribute);
    if (!values) {
      values = [...new Set(this.planner.adapters.map((a) => attributeKey(a, attribute)))].sort();
      this.values.set(attribute, values);
    }
    return values;
  }

  /** Plans `units` under constraints[ci..]: free first, then each value of constraint ci in turn. */
  constrained(units: readonly Unit[], ci: number): PlanResult {
    const free = this.run(units);
    if (ci >= this.constraints.length || keeps(free, this.constraints.slice(ci), this.byId)) return free;
    const c = this.constraints[ci]!;
    const first = free.ok ? sharedValue(free, c, this.byId) : undefined;
    const preferred = c.matchAttribute === 'server' ? this.policy.sameServer : undefined;
    const order = [
      ...new Set([
        ...(typeof first === 'string' ? [first] : []),
        ...(preferred !== undefined ? [preferred] : []),
        ...this.valuesOf(c.matchAttribute),
      ]),
    ];
    let last: PlanResult = free;
    for (const value of order) {
      if (this.exhausted) break;
      const pinned = (a: AdapterAvailability) => attributeKey(a, c.matchAttribute) === value;
      const narrowed = units.map((u) =>
        c.resources && !c.resources.includes(u.origin) ? u : { ...u, selector: both(u.selector, pinned) },
      );
      const result = this.constrained(narrowed, ci + 1);
      if (result.ok && keeps(result, this.constraints.slice(ci), this.byId)) return result;
      if (!result.ok) last = result;
    }
    return constraintFailure(c, last, this.exhausted);
  }
}

function constraintFailure(c: Constraint, last: PlanResult, exhausted: boolean): PlanFailure {
  const index = last.ok ? (c.resources?.[0] ?? 0) : last.details.resourceIndex;
  const which = c.resources ? `resources ${c.resources.join(', ')}` : 'all resources';
  const cause = last.ok ? '' : `; last try: ${last.details.message}`;
  const bound = exhausted
    ? ` (search stopped after ${MAX_PLAN_ATTEMPTS} plans: narrow it with selectors)`
    : '';
  const f = failure(
    index,
    last.ok ? 'memory' : last.details.kind,
    'CONSTRAINT',
    `no ${c.matchAttribute} can hold ${which} together (constraint matchAttribute "${c.matchAttribute}")${bound}${cause}`,
  );
  if (last.ok) return f;
  return { ...f, details: { ...f.details, kind: last.details.kind, skipped: last.details.skipped } };
}

/** A failed unit whose selector matches no adapter says so (the loop only saw it had no candidate). */
function explain(
  result: PlanResult,
  units: readonly Unit[],
  adapters: readonly AdapterAvailability[],
): PlanResult {
  if (result.ok) return result;
  const failed = units.find((u) => u.origin === result.details.resourceIndex && u.selector);
  if (!failed || adapters.some(failed.selector!)) return result;
  return failure(
    result.details.resourceIndex,
    result.details.kind,
    'NO_MATCHING_ADAPTER',
    `its selector matches none of the ${adapters.length} adapters: check the attribute values (GET /v1/adapters)`,
  );
}

/** Plans a validated request with every feature of the request language. */
export function planRequestFeatures(request: PlacementRequest, planner: UnitPlanner): PlanResult {
  const policy = request.policy ?? {};
  if (isPlain(request))
    return planner.plan(
      request.resources.map((r, origin) => ({ resource: r as CoreResource, origin })),
      policy,
    );
  const selectors = compileSelectors(request);
  const constraints = request.constraints ?? [];
  const search = new Search(planner, policy, constraints);
  const choices = request.resources.map((r) => (r.kind === 'firstAvailable' ? r.alternatives.length : 1));
  const chosen = choices.map(() => 0);
  let last: PlanResult | undefined;
  for (;;) {
    const out: Expanded = { units: [], monitors: {} };
    let refused: PlanFailure | undefined;
    for (const [i, r] of request.resources.entries()) {
      const plain = r.kind === 'firstAvailable' ? r.alternatives[chosen[i]!]! : r;
      refused = expand(plain as Plain, i, selectors[i]![chosen[i]!], planner, policy, out);
      if (refused) break;
    }
    const result = refused ?? explain(search.constrained(out.units, 0), out.units, planner.adapters);
    if (result.ok) return withChoices(result, request, chosen, out.monitors);
    last = result;
    if (!advance(chosen, choices) || search.exhausted) return last;
  }
}

/** The next combination of alternatives (the last resource's changes fastest); false after the last. */
function advance(chosen: number[], choices: number[]): boolean {
  for (let i = chosen.length - 1; i >= 0; i--) {
    if (chosen[i]! + 1 < choices[i]!) {
      chosen[i]!++;
      return true;
    }
    chosen[i] = 0;
  }
  return false;
}

function withChoices(
  result: Extract<PlanResult, { ok: true }>,
  request: PlacementRequest,
  chosen: number[],
  monitors: Record<number, string[]>,
): PlanResult {
  const alternatives: Record<number, number> = {};
  for (const [i, r] of request.resources.entries())
    if (r.kind === 'firstAvailable') alternatives[i] = chosen[i]!;
  return {
    ok: true,
    plan: {
      ...result.plan,
      ...(Object.keys(alternatives).length ? { alternatives } : {}),
      ...(Object.keys(monitors).length ? { monitors } : {}),
    },
  };
}
