// One error class for the whole stack (as better-sqlite3's SqliteError): a stable string `code`,
// one per datasheet error (ra-spec §15) and per driver condition, and a message that says what to do.
import { Err } from './regs.js';

/** Datasheet error number -> stable code, derived from the generated register map. */
const codeByNumber = new Map<number, string>(
  Object.entries(Err)
    .filter(([name]) => name !== 'COUNT' && name !== 'OK')
    .map(([name, value]) => [value, name]),
);

/** Codes the driver itself raises (no datasheet number). */
export const DriverCode = {
  TIMEOUT: 'TIMEOUT', // the adapter did not answer in time
  ADAPTER_GONE: 'ADAPTER_GONE', // the adapter's connection closed (model exited, surprise removal)
  ADAPTER_HUNG: 'ADAPTER_HUNG', // the heartbeat stopped
  CLOSED: 'CLOSED', // used after close()
  OPEN_FAILED: 'OPEN_FAILED',
  LOCK_TIMEOUT: 'LOCK_TIMEOUT', // another client held the admin mailbox too long
  NO_QUEUE: 'NO_QUEUE', // every DMA queue is owned by another client
  INVALID_ARGUMENT: 'INVALID_ARGUMENT', // rejected by the driver before touching a register
  NO_SPACE: 'NO_SPACE', // the host buffer's file system has no room for it
  UNKNOWN_DEVICE_ERROR: 'UNKNOWN_DEVICE_ERROR',
} as const;

export class RaError extends Error {
  override readonly name: string = 'RaError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    Error.captureStackTrace?.(this, RaError);
  }
}

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
