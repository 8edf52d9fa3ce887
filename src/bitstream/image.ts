// The bitstream image the adapter verifies (ra-spec §13): a 128-byte header, then the payload.
// Building and parsing it here keeps the layout in one place for the loader, the catalog and tests.
import { createHash } from 'node:crypto';
import { DeviceCode, DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { Bar, Img } from '../driver/regs.js';

/** The largest image any adapter can load: the size of its staging window (ra-spec §2, §13). */
export const STAGING_WINDOW_BYTES = Bar.STAGING_BYTES;

export interface ImageHeader {
  functionId: number;
  specMin: number; // major<<16 | minor
  specMax: number;
  contexts: number;
  payloadBytes: number;
  payloadSha256: string; // hex
  version: number;
  name: string;
}

export function specVersion(text: string): number {
  const m = /^(\d+)\.(\d+)$/.exec(text);
  if (!m) throw new RaError(DriverCode.INVALID_ARGUMENT, `spec version '${text}' must look like 1.0`);
  return (Number(m[1]) << 16) | Number(m[2]);
}

export function buildImage(
  h: Omit<ImageHeader, 'payloadBytes' | 'payloadSha256'>,
  payload: Uint8Array,
): Buffer {
  const header = Buffer.alloc(Img.HEADER_BYTES);
  header.writeUInt32LE(Img.MAGIC_VALUE, Img.MAGIC);
  header.writeUInt16LE(Img.FORMAT_VERSION, Img.FORMAT);
  header.writeUInt16LE(Img.HEADER_BYTES, Img.HEADER_SIZE);
  header.writeUInt32LE(h.functionId, Img.FUNCTION);
  header.writeUInt32LE(h.specMin, Img.SPEC_MIN);
  header.writeUInt32LE(h.specMax, Img.SPEC_MAX);
  header.writeUInt32LE(h.contexts, Img.CONTEXTS);
  header.writeBigUInt64LE(BigInt(payload.length), Img.PAYLOAD_BYTES);
  createHash('sha256').update(payload).digest().copy(header, Img.PAYLOAD_SHA256);
  header.writeUInt32LE(h.version, Img.VERSION);
  const name = Buffer.from(h.name, 'latin1');
  if (name.length > 24)
    throw new RaError(DriverCode.INVALID_ARGUMENT, `image name '${h.name}' is longer than 24 bytes`);
  name.copy(header, Img.NAME);
  return Buffer.concat([header, payload]);
}

/** Parses (does not verify) an image header. */
export function parseImageHeader(
  image: Uint8Array,
): ImageHeader & { magic: number; format: number; headerBytes: number } {
  if (image.length < Img.HEADER_BYTES) {
    throw new RaError(
      DeviceCode.IMG_SIZE,
      `image is ${image.length} bytes, shorter than its ${Img.HEADER_BYTES}-byte header`,
    );
  }
  const b = Buffer.from(image.buffer, image.byteOffset, Img.HEADER_BYTES);
  return {
    magic: b.readUInt32LE(Img.MAGIC),
    format: b.readUInt16LE(Img.FORMAT),
    headerBytes: b.readUInt16LE(Img.HEADER_SIZE),
    functionId: b.readUInt32LE(Img.FUNCTION),
    specMin: b.readUInt32LE(Img.SPEC_MIN),
    specMax: b.readUInt32LE(Img.SPEC_MAX),
    contexts: b.readUInt32LE(Img.CONTEXTS),
    payloadBytes: Number(b.readBigUInt64LE(Img.PAYLOAD_BYTES)),
    payloadSha256: b.subarray(Img.PAYLOAD_SHA256, Img.PAYLOAD_SHA256 + 32).toString('hex'),
    version: b.readUInt32LE(Img.VERSION),
    name: b
      .subarray(Img.NAME, Img.NAME + 24)
      .toString('latin1')
      .replace(/\0+$/, ''),
  };
}

/** Pipeline payload (ra-spec §12.2): 'RAPL', stage count, then (op, arg) pairs. */
export const PipelineOp = { xor: 1, add: 2, reverse: 3, sha256: 4, crc32c: 5, rotl: 6 } as const;
export type PipelineStage = { op: keyof typeof PipelineOp; arg?: number };

export function pipelinePayload(stages: readonly PipelineStage[], padBytes = 0): Buffer {
  const b = Buffer.alloc(8 + stages.length * 8 + padBytes);
  b.writeUInt32LE(0x4c504152, 0);
  b.writeUInt32LE(stages.length, 4);
  stages.forEach((s, i) => {
    b.writeUInt32LE(PipelineOp[s.op], 8 + i * 8);
    b.writeUInt32LE((s.arg ?? 0) >>> 0, 12 + i * 8);
  });
  return b;
}

/** IMG_FLAGS and whether IMG_RESERVED is all zero (ra-spec §5.4 check 5); the header must be present. */
export function imageHeaderReserved(image: Uint8Array): { flags: number; reservedZero: boolean } {
  const b = Buffer.from(image.buffer, image.byteOffset, Img.HEADER_BYTES);
  return {
    flags: b.readUInt32LE(Img.FLAGS),
    reservedZero: b.subarray(Img.RESERVED, Img.HEADER_BYTES).every((x) => x === 0),
  };
}
