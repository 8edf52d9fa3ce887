// Allocation and gang ids and owner keys (ra-spec §10) drawn from one pool of random bytes: one
// randomFillSync per POOL_BYTES (about 290 allocations) instead of two randomBytes calls, each a
// syscall and a Buffer, per allocation. The bytes come from the same CSPRNG and each is handed out
// once, so ids and keys are exactly as unpredictable as before.
import { randomFillSync } from 'node:crypto';
import { ownerKeyHex } from '../common/owner-key.js';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

/** Offset of `bytes` fresh random bytes in the pool (refilled when fewer are left). */
function take(bytes: number): number {
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const at = used;
  used += bytes;
  return at;
}

/** `bytes` random bytes as 2 × bytes lowercase hex digits. */
export function randomHex(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > POOL_BYTES)
    throw new RangeError(`randomHex: bytes must be 1..${POOL_BYTES}, got ${bytes}`);
  const at = take(bytes);
  return pool.toString('hex', at, at + bytes);
}

/** A fresh owner key in its wire and store form: random, never 0 (randomOwnerKey's rule). */
export function newOwnerKey(): string {
  const at = take(8);
  return ownerKeyHex(pool.readBigUInt64LE(at) | 1n);
}
