// Deterministic stand-in "configuration frames" for the images the project ships: sha256 in counter
// mode, seeded by the bitstream id, so regenerating an image gives the same bytes (and signature).
import { createHash } from 'node:crypto';

const FRAME_DOMAIN = 'rafabric.frames/v1';

/** `bytes` pseudo-random bytes: sha256(domain NUL seed NUL u32le(counter)) for counter = 0, 1, ... */
export function configurationFrames(seed: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  const prefix = Buffer.from(`${FRAME_DOMAIN}\0${seed}\0`, 'utf8');
  const counter = Buffer.alloc(4);
  for (let off = 0, i = 0; off < bytes; off += 32, i++) {
    counter.writeUInt32LE(i);
    createHash('sha256').update(prefix).update(counter).digest().copy(out, off);
  }
  return out;
}
