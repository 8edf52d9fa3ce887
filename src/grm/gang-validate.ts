// The body of POST /v1/gangs: {"members": [<allocation request>, ...], "searchSteps": N}. Each member
// is an allocation request, checked as POST /v1/allocations checks one; a refusal names the member.
import { RaError } from '../common/errors.js';
import type { RequestClasses } from './request-classes.js';
import { GrmCode } from './types.js';
import { type ValidatedAllocation, validateAllocation } from './validate.js';

/** Members of one gang: its commit is one etcd transaction of 2 operations per member (limit 128). */
export const MAX_GANG_MEMBERS = 32;
/** The largest search bound a client may ask for (placements tried). */
export const MAX_GANG_SEARCH_STEPS = 100_000;

export interface GangRequest {
  members: ValidatedAllocation[];
  searchSteps?: number;
}

const invalid = (message: string, field: string) => new RaError(GrmCode.INVALID_REQUEST, message, { field });

export function validateGang(body: unknown, classes?: RequestClasses): GangRequest {
  const shape = '{"members": [{"resources": [...], "policy": {...}}, ...], "searchSteps": N}';
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid(`a gang must be a JSON object ${shape}`, 'body');
  const { members, searchSteps, ...extra } = body as Record<string, unknown>;
  const unknown = Object.keys(extra);
  if (unknown.length > 0)
    throw invalid(`unknown field(s) ${unknown.slice(0, 3).join(', ')}: a gang is ${shape}`, unknown[0]!);
  if (!Array.isArray(members) || members.length < 1 || members.length > MAX_GANG_MEMBERS)
    throw invalid(`members must be an array of 1 to ${MAX_GANG_MEMBERS} allocation requests`, 'members');
  if (
    searchSteps !== undefined &&
    (typeof searchSteps !== 'number' ||
      !Number.isSafeInteger(searchSteps) ||
      searchSteps < 1 ||
      searchSteps > MAX_GANG_SEARCH_STEPS)
  )
    throw invalid(`searchSteps must be a whole number 1..${MAX_GANG_SEARCH_STEPS}`, 'searchSteps');
  const validated = members.map((m, k) => {
    try {
      return validateAllocation(m, classes);
    } catch (err) {
      if (!(err instanceof RaError)) throw err;
      const field =
        typeof err.details?.field === 'string' ? `members[${k}].${err.details.field}` : `members[${k}]`;
      throw new RaError(err.code, `members[${k}]: ${err.message}`, { ...err.details, field, member: k });
    }
  });
  return { members: validated, ...(searchSteps === undefined ? {} : { searchSteps: searchSteps as number }) };
}
