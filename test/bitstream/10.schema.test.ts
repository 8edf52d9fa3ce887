// The descriptor schema and the rules beyond it: every field named in the error, with its rule.
import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  type Descriptor,
  formatDescriptor,
  imageVersionNumber,
  parseDescriptor,
  specMaxNumber,
  validateDescriptor,
} from '../../src/bitstream/descriptor.js';
import { clone, expectRefusal, type Loose, loose, make } from './fixtures.js';

const valid = make().descriptor;
const pipeline = make({
  id: 'p',
  function: 'pipeline',
  pipeline: [{ op: 'xor', arg: 0x5a }, { op: 'crc32c' }],
}).descriptor;

function refuse(edit: (d: Loose) => void, message: string | RegExp, base: Descriptor = valid) {
  const d = loose(base);
  edit(d);
  return expectRefusal(() => validateDescriptor(d), 'BITSTREAM_DESCRIPTOR', message);
}

describe('descriptor schema', () => {
  it('accepts a built descriptor, signed or not, and a pipeline one', () => {
    expect(validateDescriptor(clone(valid)).id).toBe('test-crc');
    expect(validateDescriptor(make({}, { sign: false }).descriptor).signature).toBeUndefined();
    expect(validateDescriptor(clone(pipeline)).pipeline).toEqual([
      { op: 'xor', arg: 0x5a },
      { op: 'crc32c', arg: 0 },
    ]);
  });

  it('names the field and the rule: descriptor.footprint.computeUnits: must be integer', () => {
    refuse((d) => {
      d.footprint.computeUnits = 1.5;
    }, 'descriptor.footprint.computeUnits: must be integer');
  });

  const missing = [
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
    'interface.contexts',
    'interface.registerWindow',
    'interface.registerWindow.bytes',
    'footprint.slotSizeClass',
    'footprint.memoryBytes',
    'image.file',
    'image.sha256',
    'image.payloadSha256',
    'compatibility.specMax',
    'signature.value',
  ];
  for (const field of missing) {
    it(`refuses a descriptor without ${field}`, () => {
      refuse((d) => {
        const parts = field.split('.');
        const last = parts.pop()!;
        delete parts.reduce((o, p) => o[p], d)[last];
      }, `descriptor.${field}: is required`);
    });
  }

  const extra: [string, (d: Loose) => void][] = [
    ['descriptor.extra', (d) => (d.extra = 1)],
    ['descriptor.interface.clock', (d) => (d.interface.clock = 250)],
    ['descriptor.interface.registerWindow.base', (d) => (d.interface.registerWindow.base = 0)],
    ['descriptor.footprint.luts', (d) => (d.footprint.luts = 1000)],
    ['descriptor.image.path', (d) => (d.image.path = 'x')],
    ['descriptor.compatibility.board', (d) => (d.compatibility.board = 'x')],
    ['descriptor.signature.comment', (d) => (d.signature.comment = 'x')],
  ];
  for (const [field, edit] of extra) {
    it(`refuses an unknown field ${field}`, () => {
      refuse(edit, `${field}: is not a known field`);
    });
  }

  it('refuses an unknown field inside a pipeline stage', () => {
    refuse((d) => (d.pipeline[0].note = 'x'), 'descriptor.pipeline[0].note: is not a known field', pipeline);
  });

  const mistyped: [string, (d: Loose) => void, string | RegExp][] = [
    [
      'schema',
      (d) => (d.schema = 'rafabric.bitstream/v2'),
      'descriptor.schema: must be "rafabric.bitstream/v1"',
    ],
    ['id (uppercase)', (d) => (d.id = 'Test'), 'descriptor.id: must be 1-63 characters'],
    ['id (too long)', (d) => (d.id = 'a'.repeat(64)), 'descriptor.id: must be 1-63 characters'],
    ['id (number)', (d) => (d.id = 7), 'descriptor.id: must be string'],
    [
      'function (unknown)',
      (d) => (d.function = 'rot13'),
      /descriptor.function: must be one of "aes-256-gcm", "sha256", "crc32c", "pipeline"/,
    ],
    [
      'function (not a slot function)',
      (d) => (d.function = 'matmul-f32'),
      'descriptor.function: must be one of',
    ],
    ['version', (d) => (d.version = '1.0'), 'descriptor.version: must be a semantic version'],
    ['vendor (empty)', (d) => (d.vendor = ''), 'descriptor.vendor: must NOT have fewer than 1 characters'],
    [
      'interface.kind',
      (d) => (d.interface.kind = 'memory-mapped'),
      'descriptor.interface.kind: must be "stream-engine"',
    ],
    [
      'interface.contexts (0)',
      (d) => (d.interface.contexts = 0),
      'descriptor.interface.contexts: must be >= 1',
    ],
    [
      'interface.contexts (65)',
      (d) => (d.interface.contexts = 65),
      'descriptor.interface.contexts: must be <= 64',
    ],
    [
      'interface.contexts (string)',
      (d) => (d.interface.contexts = '4'),
      'descriptor.interface.contexts: must be integer',
    ],
    [
      'registerWindow.offset',
      (d) => (d.interface.registerWindow.offset = 100),
      'descriptor.interface.registerWindow.offset: must be multiple of 4096',
    ],
    [
      'footprint.slotSizeClass',
      (d) => (d.footprint.slotSizeClass = 'huge'),
      'descriptor.footprint.slotSizeClass: must be one of "small", "medium", "large"',
    ],
    [
      'footprint.memoryBytes',
      (d) => (d.footprint.memoryBytes = -1),
      'descriptor.footprint.memoryBytes: must be >= 0',
    ],
    ['image.bytes', (d) => (d.image.bytes = '8320'), 'descriptor.image.bytes: must be integer'],
    [
      'image.sha256',
      (d) => (d.image.sha256 = 'ABC'),
      'descriptor.image.sha256: must be 64 lowercase hex digits',
    ],
    [
      'compatibility.specMin',
      (d) => (d.compatibility.specMin = '1.x'),
      'descriptor.compatibility.specMin: must look like "1.0"',
    ],
    [
      'compatibility.specMax',
      (d) => (d.compatibility.specMax = '1'),
      'descriptor.compatibility.specMax: must look like "1.3" or "1.x"',
    ],
    [
      'signature.algorithm',
      (d) => (d.signature.algorithm = 'rsa'),
      'descriptor.signature.algorithm: must be "ed25519"',
    ],
    [
      'signature.keyId',
      (d) => (d.signature.keyId = 'xyz'),
      'descriptor.signature.keyId: must be 16 lowercase hex digits',
    ],
    [
      'signature.value',
      (d) => (d.signature.value = 'c2ln'),
      'descriptor.signature.value: must be a base64 ed25519 signature',
    ],
    ['a whole object as a string', (d) => (d.footprint = 'small'), 'descriptor.footprint: must be object'],
  ];
  for (const [what, edit, message] of mistyped) {
    it(`refuses a mistyped ${what}`, () => {
      refuse(edit, message);
    });
  }

  it('refuses mistyped pipeline stages', () => {
    refuse((d) => (d.pipeline[1].op = 'rot13'), 'descriptor.pipeline[1].op: must be one of "xor"', pipeline);
    refuse(
      (d) => (d.pipeline[0].arg = 2 ** 32),
      'descriptor.pipeline[0].arg: must be <= 4294967295',
      pipeline,
    );
    refuse((d) => (d.pipeline = []), 'descriptor.pipeline: must NOT have fewer than 1 items', pipeline);
    refuse(
      (d) => (d.pipeline = Array(17).fill({ op: 'xor', arg: 1 })),
      'descriptor.pipeline: must NOT have more than 16 items',
      pipeline,
    );
  });

  it('reports every problem at once', () => {
    const e = refuse((d) => {
      delete d.vendor;
      d.extra = true;
      d.interface.contexts = 'x';
    }, /descriptor.vendor: is required/);
    expect(e.message).toMatch(/descriptor.extra: is not a known field/);
    expect(e.message).toMatch(/descriptor.interface.contexts: must be integer/);
    expect(e.details?.errors).toHaveLength(3);
  });

  it('refuses something that is not a JSON object', () => {
    expectRefusal(() => parseDescriptor('{"id": '), 'BITSTREAM_DESCRIPTOR', /not valid JSON/);
    expectRefusal(() => validateDescriptor([]), 'BITSTREAM_DESCRIPTOR', 'descriptor: must be object');
    expectRefusal(() => validateDescriptor(null), 'BITSTREAM_DESCRIPTOR', 'descriptor: must be object');
  });
});

describe('descriptor rules beyond the schema', () => {
  it('image.file must be <id>.rabit', () => {
    refuse((d) => (d.image.file = 'other.rabit'), 'descriptor.image.file: must be "test-crc.rabit"');
  });

  it('image.file that names a folder or escapes is a path refusal', () => {
    for (const name of ['../test-crc.rabit', '/etc/passwd', 'sub/test-crc.rabit', '..', 'a\\b']) {
      const d = loose(valid);
      d.image.file = name;
      expectRefusal(() => validateDescriptor(d), 'BITSTREAM_PATH', /descriptor.image.file/);
    }
  });

  it('specMin may not exceed specMax', () => {
    refuse((d) => {
      d.compatibility.specMin = '1.4';
      d.compatibility.specMax = '1.3';
    }, 'descriptor.compatibility.specMax: must not be lower than specMin (1.4)');
    refuse(
      (d) => (d.compatibility.specMin = '70000.0'),
      'descriptor.compatibility.specMin: major and minor must each be at most 65535',
    );
  });

  it('the version must fit the 32-bit header field', () => {
    refuse(
      (d) => (d.version = '1.256.0'),
      'descriptor.version: major must be at most 65535, minor and patch at most 255',
    );
  });

  it('pipeline is required for, and only for, custom logic', () => {
    refuse(
      (d) => delete d.pipeline,
      'descriptor.pipeline: is required when function is "pipeline"',
      pipeline,
    );
    refuse(
      (d) => (d.pipeline = [{ op: 'xor', arg: 1 }]),
      'descriptor.pipeline: is only allowed when function is "pipeline"',
    );
  });

  it('the register window stays within the first MiB', () => {
    refuse(
      (d) => (d.interface.registerWindow = { offset: 1024 * 1024 - 4096, bytes: 8192 }),
      'descriptor.interface.registerWindow: offset + bytes',
    );
  });

  it('the payload must fit the slot size class', () => {
    refuse((d) => {
      d.image.bytes = 128 + 4 * 1024 * 1024 + 1;
    }, /descriptor.footprint.slotSizeClass: "small" holds payloads up to 4194304 bytes; this one has 4194305/);
  });
});

describe('descriptor helpers', () => {
  it('"1.x" means any minor of major 1', () => {
    expect(specMaxNumber('1.x')).toBe(0x0001ffff);
    expect(specMaxNumber('2.3')).toBe(0x00020003);
  });

  it('versions encode as major<<16 | minor<<8 | patch and sort as semver', () => {
    expect(imageVersionNumber('1.2.3')).toBe(0x00010203);
    expect(imageVersionNumber('1.2.3-rc.1+b5')).toBe(0x00010203);
    const sorted = ['1.0.0', '1.0.0-rc.1', '0.9.9', '1.10.0', '1.0.0-alpha', '1.0.0-alpha.2', '1.2.0'].sort(
      compareVersions,
    );
    expect(sorted).toEqual([
      '0.9.9',
      '1.0.0-alpha',
      '1.0.0-alpha.2',
      '1.0.0-rc.1',
      '1.0.0',
      '1.2.0',
      '1.10.0',
    ]);
  });

  it('formats a descriptor in schema field order, and parses it back', () => {
    const text = formatDescriptor(valid);
    expect(Object.keys(JSON.parse(text))).toEqual([
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
      'signature',
    ]);
    expect(parseDescriptor(text)).toEqual(valid);
    expect(text.endsWith('}\n')).toBe(true);
  });
});
