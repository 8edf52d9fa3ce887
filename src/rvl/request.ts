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
  for (const [i, c] of (constraints ?? []).entries())
    for (const r of c.resources ?? [])
      if (r >= resources.length)
        throw invalidRequest(
          `constraints[${i}].resources names resource ${r}, but the request has ${resources.length}: give indices below ${resources.length}`,
          { field: `constraints[${i}].resources` },
        );
  return {
    resources: resources.map((r) =>
      r.kind === 'firstAvailable' ? { ...r, alternatives: r.alternatives.map((a) => ({ ...a })) } : { ...r },
    ),
    ...(constraints ? { constraints: constraints.map((c) => ({ ...c })) } : {}),
    policy: { ...policy, ...(policy.adaptersInUse ? { adaptersInUse: [...policy.adaptersInUse] } : {}) },
  };
}
