// Device errors: the datasheet's error numbers (ra-spec §15) turned into the stack's one error class
// (RaError, src/common/errors.ts) with a stable code and a hint that says what to do.
import { DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { Err } from './regs.js';

export { DriverCode, RaError };

/** Datasheet error number -> stable code, derived from the generated register map. */
const codeByNumber = new Map<number, string>(
  Object.entries(Err)
    .filter(([name]) => name !== 'COUNT' && name !== 'OK')
    .map(([name, value]) => [value, name]),
);

const hints: Record<string, string> = {
  NOT_LOCKED: 'the admin mailbox was used without holding CMD_LOCK',
  SLOT_BUSY: 'the slot has contexts in use; release its slices or load with force',
  OWNER_KEY: 'the owner key does not match the slice',
  BOUNDS: 'the access falls outside the slice or host region',
  OVERLAP: 'the placement overlaps another slice',
  NO_RESOURCE: 'not enough memory, compute units or contexts at that placement',
  IMG_MAGIC: 'the image header is malformed',
  IMG_SPEC: 'the image is not compatible with this adapter spec version',
  IMG_HASH: 'the image payload does not match its sha256',
  IMG_SIZE: 'the image is truncated or larger than the slot',
  IMG_FUNCTION: 'the image names an unknown function or context count',
  ALIGN: 'memory slices must start and end on the adapter memory alignment',
};

/** The stable code of a datasheet error number. */
export function deviceErrorCode(status: number): string {
  return codeByNumber.get(status) ?? DriverCode.UNKNOWN_DEVICE_ERROR;
}

/** A RaError for a datasheet status returned by the adapter while doing `what`. */
export function deviceError(status: number, what: string, details?: Record<string, unknown>): RaError {
  const code = deviceErrorCode(status);
  const hint = hints[code];
  return new RaError(code, `${what}: adapter answered ${code}${hint ? ` (${hint})` : ''}`, {
    status,
    ...details,
  });
}
