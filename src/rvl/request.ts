// What a client asks for (DESIGN.md "Requests"): what it needs, never where. Validation happens here,
// once, so the placement code can trust every number it reads. The shape is the data model's
// placement request (src/common/schema/model.ts), checked by ajv.

import { placementRequestSchema } from '../common/schema/model.js';
import type { PlacementPolicy, PlacementRequest, PlacementResource } from '../common/schema/types.js';
import { compile, firstProblem, requestRefusal, requestWording } from '../common/schema/validator.js';
import { invalidRequest } from './errors.js';

export type { PlacementPolicy, PlacementRequest };
export type Resource = PlacementResource;
export type ResourceKind = Resource['kind'];

const checkPlacementRequest = compile<PlacementRequest>(placementRequestSchema);

/** Throws RvlError INVALID_REQUEST; returns a copy otherwise (the caller may change its own). */
export function validateRequest(input: unknown): PlacementRequest {
  if (!checkPlacementRequest(input)) {
    const problem = firstProblem(checkPlacementRequest.errors ?? [], input, '', requestWording);
    const { message, details } = requestRefusal(
      problem,
      'request',
      'a request must be an object with a resources array',
    );
    throw invalidRequest(message, details);
  }
  const { resources, constraints, policy = {} } = input;
  if (constraints)
    for (let i = 0; i < constraints.length; i++)
      for (const r of constraints[i]!.resources ?? [])
        if (r >= resources.length)
          throw invalidRequest(
            `constraints[${i}].resources names resource ${r}, but the request has ${resources.length}: give indices below ${resources.length}`,
            { field: `constraints[${i}].resources` },
          );
  // Copied without spreading conditional temporaries (issue 11: every plan validates; what it
  // allocates decides how often a scavenge lands in it).
  const copied = resources.map((r) =>
    r.kind === 'firstAvailable' ? { ...r, alternatives: r.alternatives.map((a) => ({ ...a })) } : { ...r },
  );
  const policyCopy = policy.adaptersInUse
    ? { ...policy, adaptersInUse: [...policy.adaptersInUse] }
    : { ...policy };
  return constraints
    ? { resources: copied, constraints: constraints.map((c) => ({ ...c })), policy: policyCopy }
    : { resources: copied, policy: policyCopy };
}
