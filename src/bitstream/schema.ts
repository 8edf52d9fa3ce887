// JSON Schema (draft 2020-12) of a bitstream descriptor, `<id>.rabit.json` (docs/bitstreams.md).
// Every object is closed (additionalProperties: false). Rules a schema cannot state (image.file is
// `<id>.rabit`, specMin <= specMax, `pipeline` iff function is 'pipeline', ...) live in descriptor.ts.
import { slotFunctionNames } from '../common/functions.js';
import { PipelineOp } from './image.js';

export const DESCRIPTOR_SCHEMA_ID = 'rafabric.bitstream/v1';

/** Functions a programmable slot hosts (ra-spec §12): defined with the other function names. */
export { slotFunctionNames };

/** semver.org 2.0.0, the recommended expression. */
const SEMVER =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';

/** Human wording for each pattern, so errors say the rule instead of a regular expression. */
export const patternRules: Record<string, string> = {
  '/id': 'must be 1-63 characters of a-z, 0-9, "." and "-", starting with a letter or digit',
  '/version': 'must be a semantic version such as 1.2.3',
  '/image/sha256': 'must be 64 lowercase hex digits',
  '/image/payloadSha256': 'must be 64 lowercase hex digits',
  '/compatibility/specMin': 'must look like "1.0" (major.minor)',
  '/compatibility/specMax': 'must look like "1.3" or "1.x" (major.minor, or any minor of a major)',
  '/signature/keyId': 'must be 16 lowercase hex digits',
  '/signature/value': 'must be a base64 ed25519 signature (64 bytes, 88 characters)',
};

const nonNegative = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

export const descriptorSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://rafabric.dev/schemas/bitstream-v1.json',
  title: 'rafabric bitstream descriptor',
  type: 'object',
  additionalProperties: false,
  required: [
    'schema',
    'id',
    'function',
    'version',
    'vendor',
    'description',
    'interface',
    'footprint',
    'image',
    'compatibility',
  ],
  properties: {
    schema: { const: DESCRIPTOR_SCHEMA_ID },
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{0,62}$' },
    function: { enum: slotFunctionNames },
    version: { type: 'string', maxLength: 64, pattern: SEMVER },
    vendor: { type: 'string', minLength: 1, maxLength: 64 },
    description: { type: 'string', minLength: 1, maxLength: 1024 },
    interface: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'contexts', 'registerWindow'],
      properties: {
        kind: { const: 'stream-engine' },
        contexts: { type: 'integer', minimum: 1, maximum: 64 },
        registerWindow: {
          type: 'object',
          additionalProperties: false,
          required: ['offset', 'bytes'],
          properties: {
            offset: { type: 'integer', minimum: 0, maximum: 1048576, multipleOf: 4096 },
            bytes: { type: 'integer', minimum: 4096, maximum: 1048576, multipleOf: 4096 },
          },
        },
      },
    },
    footprint: {
      type: 'object',
      additionalProperties: false,
      required: ['slotSizeClass', 'memoryBytes', 'computeUnits'],
      properties: {
        slotSizeClass: { enum: ['small', 'medium', 'large'] },
        memoryBytes: nonNegative,
        computeUnits: { type: 'integer', minimum: 0, maximum: 4096 },
      },
    },
    image: {
      type: 'object',
      additionalProperties: false,
      required: ['file', 'bytes', 'sha256', 'payloadSha256'],
      properties: {
        file: { type: 'string', minLength: 1, maxLength: 255 },
        bytes: { type: 'integer', minimum: 129, maximum: Number.MAX_SAFE_INTEGER },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        payloadSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      },
    },
    compatibility: {
      type: 'object',
      additionalProperties: false,
      required: ['specMin', 'specMax'],
      properties: {
        specMin: { type: 'string', pattern: '^(0|[1-9][0-9]{0,4})\\.(0|[1-9][0-9]{0,4})$' },
        specMax: { type: 'string', pattern: '^(0|[1-9][0-9]{0,4})\\.(0|[1-9][0-9]{0,4}|x)$' },
      },
    },
    pipeline: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['op', 'arg'],
        properties: {
          op: { enum: Object.keys(PipelineOp) },
          arg: { type: 'integer', minimum: 0, maximum: 0xffffffff },
        },
      },
    },
    signature: {
      type: 'object',
      additionalProperties: false,
      required: ['keyId', 'algorithm', 'value'],
      properties: {
        keyId: { type: 'string', pattern: '^[0-9a-f]{16}$' },
        algorithm: { const: 'ed25519' },
        value: { type: 'string', pattern: '^[A-Za-z0-9+/]{86}==$' },
      },
    },
  },
} as const;

/** Schema of a JSON trust store: a list of named ed25519 public keys (docs/bitstreams.md). */
export const trustListSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://rafabric.dev/schemas/trust-v1.json',
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'publicKey'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 128 },
      keyId: { type: 'string', pattern: '^[0-9a-f]{16}$' },
      publicKey: { type: 'string', minLength: 1 },
    },
  },
} as const;
