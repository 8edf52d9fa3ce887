// Does an image file agree with its descriptor? Size, file sha256, the 128-byte header (ra-spec
// §13, every field derived from the descriptor: descriptor.ts headerFor) and, for custom logic, the
// pipeline stage list at the start of the payload (ra-spec §12.2).
import { RaError } from '../common/errors.js';
import { functionName } from '../driver/functions.js';
import { Img } from '../driver/regs.js';
import { BitstreamCode } from './codes.js';
import { type Descriptor, headerFor, specText } from './descriptor.js';
import { type ImageHeader, imageHeaderReserved, parseImageHeader, pipelinePayload } from './image.js';
import { sha256Hex } from './signing.js';

export interface CheckedImage {
  header: ImageHeader;
  /** sha256 of the whole image file, computed here. */
  imageSha256: string;
  payloadBytes: number;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

export function checkImage(d: Descriptor, image: Uint8Array): CheckedImage {
  const what = `image ${d.image.file}`;
  if (image.length !== d.image.bytes) {
    const how = image.length < d.image.bytes ? 'truncated' : 'longer than described';
    throw new RaError(
      BitstreamCode.SIZE,
      `${what} is ${how}: ${image.length} bytes, descriptor.image.bytes says ${d.image.bytes}`,
      {
        bytes: image.length,
        expected: d.image.bytes,
      },
    );
  }
  const imageSha256 = sha256Hex(image);
  if (imageSha256 !== d.image.sha256) {
    throw new RaError(
      BitstreamCode.HASH,
      `${what} has sha256 ${imageSha256}, descriptor.image.sha256 says ${d.image.sha256}: the file is corrupt or was replaced`,
    );
  }
  const header = parseImageHeader(image);
  const reserved = imageHeaderReserved(image);
  if (
    header.magic !== Img.MAGIC_VALUE ||
    header.format !== Img.FORMAT_VERSION ||
    header.headerBytes !== Img.HEADER_BYTES ||
    reserved.flags !== 0 ||
    !reserved.reservedZero
  ) {
    throw new RaError(
      BitstreamCode.HEADER,
      `${what} has a malformed header (magic, format, header size, flags or reserved bytes; ra-spec §13)`,
    );
  }
  const payloadBytes = image.length - Img.HEADER_BYTES;
  if (header.payloadBytes !== payloadBytes) {
    throw new RaError(
      BitstreamCode.HEADER,
      `${what}: header says ${header.payloadBytes} payload bytes, the file holds ${payloadBytes}`,
    );
  }
  const payload = image.subarray(Img.HEADER_BYTES);
  const payloadSha256 = sha256Hex(payload);
  if (payloadSha256 !== d.image.payloadSha256 || header.payloadSha256 !== payloadSha256) {
    throw new RaError(
      BitstreamCode.HASH,
      `${what}: payload sha256 is ${payloadSha256}; header says ${header.payloadSha256}, descriptor.image.payloadSha256 says ${d.image.payloadSha256}`,
    );
  }
  const mismatches = headerMismatches(d, header);
  if (mismatches.length > 0) {
    throw new RaError(
      BitstreamCode.HEADER,
      `${what}: the header disagrees with the descriptor: ${mismatches.join('; ')}`,
      { mismatches },
    );
  }
  if (d.pipeline) {
    const stages = pipelinePayload(d.pipeline);
    if (payload.length < stages.length || !stages.equals(payload.subarray(0, stages.length))) {
      throw new RaError(
        BitstreamCode.PIPELINE,
        `${what}: the payload's stage list (ra-spec §12.2) differs from descriptor.pipeline`,
      );
    }
  }
  return { header, imageSha256, payloadBytes };
}

function headerMismatches(d: Descriptor, h: ImageHeader): string[] {
  const want = headerFor(d);
  const out: string[] = [];
  if (h.functionId !== want.functionId) {
    out.push(
      `function ${h.functionId} (${functionName(h.functionId) ?? 'unknown'}) but descriptor.function is ${d.function}`,
    );
  }
  if (h.contexts !== want.contexts)
    out.push(`contexts ${h.contexts} but descriptor.interface.contexts is ${want.contexts}`);
  if (h.specMin !== want.specMin)
    out.push(
      `spec min ${specText(h.specMin)} but descriptor.compatibility.specMin is ${d.compatibility.specMin}`,
    );
  if (h.specMax !== want.specMax) {
    out.push(
      `spec max ${hex(h.specMax)} but descriptor.compatibility.specMax ${d.compatibility.specMax} means ${hex(want.specMax)}`,
    );
  }
  if (h.version !== want.version)
    out.push(`version ${hex(h.version)} but descriptor.version ${d.version} means ${hex(want.version)}`);
  if (h.name !== want.name) out.push(`name '${h.name}' but the id gives '${want.name}'`);
  return out;
}
