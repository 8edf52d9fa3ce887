// Building a bitstream (descriptor + image) from a short spec: used by scripts/make-bitstreams.mjs
// for the images the project ships, and by tests. The header comes from the descriptor (headerFor),
// so the two always agree.
import { DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { Img } from '../driver/regs.js';
import { BitstreamCode } from './codes.js';
import {
  headerFor,
  type SlotFunctionName,
  type SlotSizeClass,
  slotSizeClassBytes,
  type UnsignedDescriptor,
} from './descriptor.js';
import { configurationFrames } from './frames.js';
import { buildImage, type PipelineStage, pipelinePayload } from './image.js';
import { DESCRIPTOR_SCHEMA_ID } from './schema.js';
import { sha256Hex } from './signing.js';

export interface BitstreamSpec {
  id: string;
  function: SlotFunctionName;
  version: string;
  vendor: string;
  description: string;
  contexts: number;
  /** Payload bytes, stage list included; frames seeded by the id fill the rest. */
  payloadBytes: number;
  pipeline?: readonly PipelineStage[];
  registerWindow?: { offset: number; bytes: number };
  slotSizeClass?: SlotSizeClass;
  memoryBytes?: number;
  computeUnits?: number;
  specMin?: string;
  specMax?: string;
}

/** The smallest slot size class that holds `payloadBytes`. */
export function sizeClassFor(payloadBytes: number): SlotSizeClass {
  const fit = (Object.entries(slotSizeClassBytes) as [SlotSizeClass, number][]).find(
    ([, limit]) => payloadBytes <= limit,
  );
  if (!fit)
    throw new RaError(BitstreamCode.TOO_BIG, `a ${payloadBytes}-byte payload exceeds every slot size class`);
  return fit[0];
}

/** The payload of `spec`: the stage list for custom logic (ra-spec §12.2), then configuration frames. */
export function payloadFor(spec: BitstreamSpec): Buffer {
  const stages = spec.pipeline ? pipelinePayload(spec.pipeline) : Buffer.alloc(0);
  if (stages.length > spec.payloadBytes) {
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `payloadBytes ${spec.payloadBytes} cannot hold the ${stages.length}-byte stage list`,
    );
  }
  return Buffer.concat([stages, configurationFrames(spec.id, spec.payloadBytes - stages.length)]);
}

/** An unsigned descriptor and its image, consistent by construction. */
export function buildBitstream(
  spec: BitstreamSpec,
  payload: Uint8Array = payloadFor(spec),
): { descriptor: UnsignedDescriptor; image: Buffer } {
  const descriptor: UnsignedDescriptor = {
    schema: DESCRIPTOR_SCHEMA_ID,
    id: spec.id,
    function: spec.function,
    version: spec.version,
    vendor: spec.vendor,
    description: spec.description,
    interface: {
      kind: 'stream-engine',
      contexts: spec.contexts,
      registerWindow: spec.registerWindow ?? { offset: 0, bytes: 4096 },
    },
    footprint: {
      slotSizeClass: spec.slotSizeClass ?? sizeClassFor(payload.length),
      memoryBytes: spec.memoryBytes ?? 0,
      computeUnits: spec.computeUnits ?? 0,
    },
    image: {
      file: `${spec.id}.rabit`,
      bytes: Img.HEADER_BYTES + payload.length,
      sha256: '',
      payloadSha256: sha256Hex(payload),
    },
    compatibility: { specMin: spec.specMin ?? '1.0', specMax: spec.specMax ?? '1.x' },
    ...(spec.pipeline ? { pipeline: spec.pipeline.map((s) => ({ op: s.op, arg: s.arg ?? 0 })) } : {}),
  };
  const image = buildImage(headerFor(descriptor), payload);
  descriptor.image.sha256 = sha256Hex(image);
  return { descriptor, image };
}
