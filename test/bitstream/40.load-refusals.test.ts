// The loader refuses before touching the adapter: an adapter stand-in that throws on any access
// other than its identity proves no register is read or written for a refused bitstream.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/bitstream/catalog.js';
import { formatDescriptor } from '../../src/bitstream/descriptor.js';
import { type BitstreamSource, loadBitstream, prepareBitstream } from '../../src/bitstream/loader.js';
import { TrustStore } from '../../src/bitstream/trust.js';
import type { Adapter, AdapterIdentity } from '../../src/driver/adapter.js';
import {
  clone,
  expectRefusalAsync,
  MiB,
  make,
  modelIdentity,
  testTrust,
  useTempDir,
  write,
} from './fixtures.js';

const tempDir = useTempDir();

const identity = { ...modelIdentity, slots: 4 } as unknown as AdapterIdentity;

/** An adapter whose identity can be read and nothing else: any other access fails the test. */
function untouchable(id: AdapterIdentity = identity): Adapter & { touched: string[] } {
  const touched: string[] = [];
  const target = { identity: id, uri: id.uri, touched };
  return new Proxy(target, {
    get(t, p) {
      if (p in t) return t[p as keyof typeof t];
      touched.push(String(p));
      throw new Error(`the loader touched adapter.${String(p)} before its checks passed`);
    },
  }) as unknown as Adapter & { touched: string[] };
}

const load = (
  source: BitstreamSource,
  o: { trust?: TrustStore; allowUnsigned?: boolean; slot?: number; id?: AdapterIdentity } = {},
) => {
  const adapter = untouchable(o.id);
  const run = loadBitstream(adapter, o.slot ?? 0, source, {
    trust: o.trust ?? testTrust,
    policy: { allowUnsigned: o.allowUnsigned ?? false },
  });
  return run.finally(() => expect(adapter.touched).toEqual([]));
};

describe('loader refusals (no register touched)', () => {
  const cases: [string, () => BitstreamSource, string, object?][] = [
    [
      'a truncated image',
      () => {
        const m = make();
        return { descriptor: m.descriptor, image: m.image.subarray(0, m.image.length - 10) };
      },
      'BITSTREAM_SIZE',
    ],
    [
      'a wrong hash',
      () => {
        const m = make();
        const image = Buffer.from(m.image);
        image[1000]! ^= 4;
        return { descriptor: m.descriptor, image };
      },
      'BITSTREAM_HASH',
    ],
    [
      'a bad signature',
      () => {
        const m = make();
        return { descriptor: { ...m.descriptor, description: 'changed after signing' }, image: m.image };
      },
      'BITSTREAM_BAD_SIGNATURE',
    ],
    ['an unknown key', () => make(), 'BITSTREAM_UNKNOWN_KEY', { trust: TrustStore.empty() }],
    ['an unsigned image', () => make({}, { sign: false }), 'BITSTREAM_UNSIGNED'],
    [
      'an image too big for the slot',
      () => make(),
      'BITSTREAM_TOO_BIG',
      { id: { ...identity, slotBytes: 4096 } },
    ],
    [
      'an image too big for the staging window',
      () => make({ payloadBytes: 2 * MiB }),
      'BITSTREAM_TOO_BIG',
      { id: { ...identity, stagingBytes: MiB } },
    ],
    ['an incompatible spec version', () => make({ specMin: '1.1', specMax: '1.x' }), 'BITSTREAM_SPEC'],
    [
      'a function the adapter does not support',
      () => make(),
      'BITSTREAM_FUNCTION',
      { id: { ...identity, functions: 0x16 } },
    ],
    ['more contexts than the adapter allows', () => make({ contexts: 9 }), 'BITSTREAM_CONTEXTS'],
    [
      'an unknown function',
      () => {
        const m = make();
        return { descriptor: { ...m.descriptor, function: 'fft' }, image: m.image };
      },
      'BITSTREAM_DESCRIPTOR',
    ],
    [
      'a descriptor with an extra field',
      () => {
        const m = make();
        return { descriptor: { ...m.descriptor, priority: 1 }, image: m.image };
      },
      'BITSTREAM_DESCRIPTOR',
    ],
    [
      'a descriptor with a missing field',
      () => {
        const m = make();
        const d = clone(m.descriptor) as Partial<typeof m.descriptor>;
        delete d.compatibility;
        return { descriptor: d, image: m.image };
      },
      'BITSTREAM_DESCRIPTOR',
    ],
    [
      'a descriptor with a mistyped field',
      () => {
        const m = make();
        return { descriptor: { ...m.descriptor, version: 1 }, image: m.image };
      },
      'BITSTREAM_DESCRIPTOR',
    ],
    [
      'a descriptor file whose image escapes its folder',
      () => {
        const dir = tempDir();
        const m = make();
        writeFileSync(
          path.join(dir, 'test-crc.rabit.json'),
          formatDescriptor({ ...m.descriptor, image: { ...m.descriptor.image, file: '../../etc/passwd' } }),
        );
        return path.join(dir, 'test-crc.rabit.json');
      },
      'BITSTREAM_PATH',
    ],
    [
      'a descriptor file that does not exist',
      () => path.join(tempDir(), 'none.rabit.json'),
      'BITSTREAM_DESCRIPTOR',
    ],
  ];
  for (const [what, source, code, o] of cases) {
    it(`refuses ${what} (${code})`, async () => {
      await expectRefusalAsync(() => load(source(), o), code);
    });
  }

  it('refuses a slot the adapter does not have', async () => {
    await expectRefusalAsync(
      () => load(make(), { slot: 4 }),
      'INVALID_ARGUMENT',
      /slot 4 does not exist: .* has slots 0..3/,
    );
  });

  it('re-reads and re-verifies a catalog entry whose image changed on disk', async () => {
    const dir = tempDir();
    const catalog = Catalog.open(dir, { trust: testTrust });
    const entry = catalog.register(make());
    writeFileSync(entry.imagePath, Buffer.alloc(entry.imageBytes));
    await expectRefusalAsync(() => load(entry), 'BITSTREAM_HASH');
  });

  it('prepares a good bitstream from every kind of source without touching the adapter', () => {
    const dir = tempDir();
    const m = make();
    const file = write(dir, m);
    const entry = Catalog.open(dir, { trust: testTrust }).get('test-crc');
    for (const source of [m, file, path.join(dir, 'test-crc.rabit'), entry]) {
      const adapter = untouchable();
      expect(prepareBitstream(adapter, 1, source, { trust: testTrust }).descriptor.id).toBe('test-crc');
      expect(adapter.touched).toEqual([]);
    }
  });
});
