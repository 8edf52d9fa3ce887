// Owner keys (ra-spec §10): the 64-bit secret a slice table entry is programmed with and every access
// to the slice must present. 0 never matches, so a fresh key is never 0. On the wire and in the store
// a key is 16 lowercase hex digits.
import { randomBytes } from 'node:crypto';

const OWNER_KEY_HEX = /^[0-9a-f]{16}$/;

/** A fresh owner key: random, never 0. */
export function randomOwnerKey(): bigint {
  return randomBytes(8).readBigUInt64LE() | 1n;
}

/** The wire and store form of a key: 16 lowercase hex digits. */
export function ownerKeyHex(key: bigint): string {
  return key.toString(16).padStart(16, '0');
}

export function isOwnerKeyHex(text: unknown): text is string {
  return typeof text === 'string' && OWNER_KEY_HEX.test(text);
}

/** The key a wire or store form names (check it with isOwnerKeyHex first). */
export function ownerKeyOf(hex: string): bigint {
  return BigInt(`0x${hex}`);
}
