// A bitstream descriptor (`<id>.rabit.json`, docs/bitstreams.md): its type, its validation (the
// JSON Schema in schema.ts through ajv, then the rules a schema cannot state), and the image header
// (ra-spec §13) a descriptor implies.
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { RaError } from '../common/errors.js';
import { functionIds } from '../driver/functions.js';
import { BitstreamCode } from './codes.js';
import type { ImageHeader, PipelineStage } from './image.js';
import { assertPlainFileName } from './paths.js';
import { descriptorSchema, patternRules, type slotFunctionNames } from './schema.js';

export type SlotFunctionName = (typeof slotFunctionNames)[number];
export type SlotSizeClass = 'small' | 'medium' | 'large';

export interface Descriptor {
  schema: 'rafabric.bitstream/v1';
  id: string;
  function: SlotFunctionName;
  version: string;
  vendor: string;
  description: string;
  interface: { kind: 'stream-engine'; contexts: number; registerWindow: { offset: number; bytes: number } };
  footprint: { slotSizeClass: SlotSizeClass; memoryBytes: number; computeUnits: number };
  /** `bytes` and `sha256` are of the whole image file; `payloadSha256` is what the slot reports. */
  image: { file: string; bytes: number; sha256: string; payloadSha256: string };
  compatibility: { specMin: string; specMax: string };
  pipeline?: Required<PipelineStage>[];
  signature?: DescriptorSignature;
}

export interface DescriptorSignature {
  keyId: string;
  algorithm: 'ed25519';
  value: string;
}

export type UnsignedDescriptor = Omit<Descriptor, 'signature'>;

const MiB = 1024 * 1024;

/** Largest payload of each slot size class (the class says which slots an image needs). */
export const slotSizeClassBytes: Record<SlotSizeClass, number> = {
  small: 4 * MiB,
  medium: 16 * MiB,
  large: 64 * MiB,
};

/** The register window must lie inside the first MiB of the slot's region. */
export const REGISTER_WINDOW_SPAN_BYTES = MiB;

export const IMAGE_FILE_SUFFIX = '.rabit';
export const DESCRIPTOR_FILE_SUFFIX = '.rabit.json';

export interface FieldError {
  /** `descriptor.footprint.computeUnits` */
  field: string;
  /** `must be integer` */
  rule: string;
}

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validateSchema = ajv.compile(descriptorSchema);

/** `/pipeline/0/op` -> `descriptor.pipeline[0].op` */
export function fieldName(pointer: string, root = 'descriptor'): string {
  if (pointer === '') return root;
  return (
    root +
    pointer
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
      .join('')
  );
}

function schemaPointer(pointer: string): string {
  return pointer.replace(/\/\d+(?=\/|$)/g, '');
}

/** One ajv error as `field: rule` in words. */
export function describeAjvError(e: ErrorObject, root = 'descriptor'): FieldError {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return {
        field: fieldName(`${e.instancePath}/${String(p.missingProperty)}`, root),
        rule: 'is required',
      };
    case 'additionalProperties':
      return {
        field: fieldName(`${e.instancePath}/${String(p.additionalProperty)}`, root),
        rule: 'is not a known field (remove it)',
      };
    case 'enum':
      return {
        field: fieldName(e.instancePath, root),
        rule: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'const':
      return { field: fieldName(e.instancePath, root), rule: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'pattern':
      return {
        field: fieldName(e.instancePath, root),
        rule: patternRules[schemaPointer(e.instancePath)] ?? `must match ${String(p.pattern)}`,
      };
    default:
      return { field: fieldName(e.instancePath, root), rule: e.message ?? e.keyword };
  }
}

export function descriptorError(errors: readonly FieldError[], subject = 'descriptor'): RaError {
  const shown = errors.slice(0, 6).map((e) => `${e.field}: ${e.rule}`);
  const more = errors.length > shown.length ? `; and ${errors.length - shown.length} more` : '';
  return new RaError(BitstreamCode.DESCRIPTOR, `${subject} is invalid: ${shown.join('; ')}${more}`, {
    errors,
  });
}

/** Validates a parsed descriptor against the schema and the rules beyond it; throws BITSTREAM_DESCRIPTOR. */
export function validateDescriptor(value: unknown, subject = 'descriptor'): Descriptor {
  if (!validateSchema(value)) {
    const unique = new Map<string, FieldError>();
    for (const e of (validateSchema.errors ?? []).map((x) => describeAjvError(x)))
      unique.set(`${e.field}: ${e.rule}`, e);
    throw descriptorError([...unique.values()], subject);
  }
  const d = value as unknown as Descriptor;
  assertPlainFileName(d.image.file, 'descriptor.image.file');
  const errors = ruleErrors(d);
  if (errors.length > 0) throw descriptorError(errors, subject);
  return d;
}

/** Parses descriptor text (JSON) and validates it. */
export function parseDescriptor(text: string, subject = 'descriptor'): Descriptor {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RaError(BitstreamCode.DESCRIPTOR, `${subject} is not valid JSON: ${(err as Error).message}`);
  }
  return validateDescriptor(value, subject);
}

/** Rules the schema cannot state. */
function ruleErrors(d: Descriptor): FieldError[] {
  const errors: FieldError[] = [];
  const add = (field: string, rule: string) => errors.push({ field: `descriptor.${field}`, rule });
  if (d.image.file !== `${d.id}${IMAGE_FILE_SUFFIX}`) {
    add(
      'image.file',
      `must be "${d.id}${IMAGE_FILE_SUFFIX}" (the id followed by ${IMAGE_FILE_SUFFIX}, beside the descriptor)`,
    );
  }
  const min = specNumber(d.compatibility.specMin);
  const max = specMaxNumber(d.compatibility.specMax);
  if (min === undefined) add('compatibility.specMin', 'major and minor must each be at most 65535');
  if (max === undefined) add('compatibility.specMax', 'major and minor must each be at most 65535');
  if (min !== undefined && max !== undefined && min > max) {
    add('compatibility.specMax', `must not be lower than specMin (${d.compatibility.specMin})`);
  }
  if (imageVersionNumber(d.version) === undefined) {
    add(
      'version',
      'major must be at most 65535, minor and patch at most 255 (the header stores them in 32 bits)',
    );
  }
  const window = d.interface.registerWindow;
  if (window.offset + window.bytes > REGISTER_WINDOW_SPAN_BYTES) {
    add(
      'interface.registerWindow',
      `offset + bytes must be at most ${REGISTER_WINDOW_SPAN_BYTES} (the first MiB of the slot)`,
    );
  }
  if (d.function === 'pipeline' && d.pipeline === undefined)
    add('pipeline', 'is required when function is "pipeline"');
  if (d.function !== 'pipeline' && d.pipeline !== undefined)
    add('pipeline', 'is only allowed when function is "pipeline"');
  const payloadBytes = d.image.bytes - 128;
  const classBytes = slotSizeClassBytes[d.footprint.slotSizeClass];
  if (payloadBytes > classBytes) {
    add(
      'footprint.slotSizeClass',
      `"${d.footprint.slotSizeClass}" holds payloads up to ${classBytes} bytes; this one has ${payloadBytes}`,
    );
  }
  return errors;
}

/** "1.0" -> 0x00010000; undefined if malformed or out of range. */
export function specNumber(text: string): number | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(text);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major > 0xffff || minor > 0xffff) return undefined;
  return ((major << 16) | minor) >>> 0;
}

/** "1.x" -> 0x0001FFFF (any minor of major 1); "1.3" -> 0x00010003. */
export function specMaxNumber(text: string): number | undefined {
  const m = /^(\d+)\.x$/.exec(text);
  if (!m) return specNumber(text);
  const major = Number(m[1]);
  return major > 0xffff ? undefined : ((major << 16) | 0xffff) >>> 0;
}

/** 0x00010000 -> "1.0"; 0x0001FFFF -> "1.x" (any minor). */
export function specText(value: number): string {
  const minor = value & 0xffff;
  return `${value >>> 16}.${minor === 0xffff ? 'x' : minor}`;
}

/** Semantic version -> IMG_VERSION: major<<16 | minor<<8 | patch (pre-release and build ignored). */
export function imageVersionNumber(version: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major > 0xffff || minor > 0xff || patch > 0xff) return undefined;
  return ((major << 16) | (minor << 8) | patch) >>> 0;
}

/** Orders two semantic versions (pre-release sorts before its release; build ignored). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('+')[0]!.split(/-(.*)/s);
    return { nums: core.split('.').map(Number), pre: pre ? pre.split('.') : [] };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre.length === 0 && y.pre.length === 0) return 0;
  if (x.pre.length === 0) return 1; // 1.0.0 > 1.0.0-rc.1
  if (y.pre.length === 0) return -1;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Math.sign(Number(p) - Number(q));
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

/** IMG_NAME of a descriptor's image: the first 24 characters of its id. */
export function imageName(id: string): string {
  return id.slice(0, 24);
}

/**
 * The header fields (ra-spec §13) a valid descriptor's image must carry. The header is a function
 * of the descriptor and the payload, so a signature over the descriptor covers every header byte.
 */
export function headerFor(d: UnsignedDescriptor): Omit<ImageHeader, 'payloadBytes' | 'payloadSha256'> {
  return {
    functionId: functionIds[d.function],
    specMin: specNumber(d.compatibility.specMin)!,
    specMax: specMaxNumber(d.compatibility.specMax)!,
    contexts: d.interface.contexts,
    version: imageVersionNumber(d.version)!,
    name: imageName(d.id),
  };
}

/** Payload bytes of a descriptor's image (image bytes less the 128-byte header). */
export function payloadBytesOf(d: UnsignedDescriptor): number {
  return d.image.bytes - 128;
}

const fieldOrder = descriptorSchema.properties;

/** Descriptor as written to disk: fields in schema order, two-space indent, trailing newline. */
export function formatDescriptor(d: Descriptor | UnsignedDescriptor): string {
  const ordered: Record<string, unknown> = {};
  const source = d as unknown as Record<string, unknown>;
  for (const key of Object.keys(fieldOrder)) if (source[key] !== undefined) ordered[key] = source[key];
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** The descriptor without its signature (what a signature covers). */
export function withoutSignature(d: Descriptor | UnsignedDescriptor): UnsignedDescriptor {
  const { signature: _signature, ...rest } = d as Descriptor;
  return rest;
}
