// The client library's error codes: what an instance using its grant can hit (ra-spec §18).
import { RaError } from '../common/errors.js';

export const ClientCode = {
  /** The grant was revoked (release, reclaim, migration): ask the GRM for the allocation's new grants. */
  GRANT_REVOKED: 'GRANT_REVOKED',
  /** The grant is malformed, or its window or memory cannot be opened. */
  GRANT_INVALID: 'GRANT_INVALID',
  /** The slice or context named is not part of this grant. */
  NOT_GRANTED: 'NOT_GRANTED',
  /** No completion within the time given. */
  TIMEOUT: 'TIMEOUT',
} as const;

export { RaError };

export function revokedError(what: string): RaError {
  return new RaError(
    ClientCode.GRANT_REVOKED,
    `${what}: the grant was revoked (allocation released, reclaimed or migrated); fetch the allocation again for its current grants`,
  );
}
