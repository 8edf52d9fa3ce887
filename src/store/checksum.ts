// CRC-32 (zlib's polynomial) of a journal record or a snapshot. It detects torn and damaged records;
// it is not a defence against deliberate tampering. zlib.crc32 exists from Node 20.15 / 22.2, below the
// versions package.json's engines field admits (>= 20.17 / >= 22.9), so no fallback table is carried.
import * as zlib from 'node:zlib';

const crc32: ((data: string) => number) | undefined = (zlib as { crc32?: (data: string) => number }).crc32;

export function checksum(text: string): number {
  if (typeof crc32 !== 'function') {
    throw new Error(
      `zlib.crc32 is missing in Node ${process.version}: use Node >= 20.17 (package.json engines)`,
    );
  }
  return crc32(text);
}
