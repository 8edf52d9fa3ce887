// The catalog: open a folder (verifying everything), register, list, get, findByFunction, image().
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/bitstream/catalog.js';
import { formatDescriptor } from '../../src/bitstream/descriptor.js';
import { TrustStore } from '../../src/bitstream/trust.js';
import { clone, expectRefusal, KiB, make, modelIdentity, testTrust, useTempDir, write } from './fixtures.js';

const tempDir = useTempDir();
const open = (dir: string, o: Parameters<typeof Catalog.open>[1] = {}) =>
  Catalog.open(dir, { trust: testTrust, ...o });

describe('catalog', () => {
  it('opens an empty folder, or creates one', () => {
    expect(open(tempDir()).list()).toEqual([]);
    const dir = path.join(tempDir(), 'new');
    expect(open(dir, { create: true }).list()).toEqual([]);
    expectRefusal(() => open(path.join(tempDir(), 'missing')), 'BITSTREAM_NOT_FOUND', /cannot be read/);
  });

  it('registers a descriptor path: verifies, copies both files in, and serves it', () => {
    const src = tempDir();
    const dir = tempDir();
    const file = write(src, make());
    const catalog = open(dir);
    const entry = catalog.register(file);
    expect(entry).toMatchObject({
      id: 'test-crc',
      function: 'crc32c',
      version: '1.2.3',
      contexts: 4,
      sizeClass: 'small',
      payloadBytes: 8192,
    });
    expect(entry.signature).toMatchObject({ signed: true, keyName: 'test' });
    expect(entry.descriptorPath).toBe(path.join(dir, 'test-crc.rabit.json'));
    expect(existsSync(path.join(dir, 'test-crc.rabit'))).toBe(true);
    expect(catalog.get('test-crc')).toBe(entry);
    expect(catalog.image('test-crc').equals(readFileSync(path.join(src, 'test-crc.rabit')))).toBe(true);
    // A fresh open finds it again.
    expect(
      open(dir)
        .list()
        .map((e) => e.id),
    ).toEqual(['test-crc']);
  });

  it('registers a descriptor and image given in memory', () => {
    const catalog = open(tempDir());
    const made = make({ id: 'mem', function: 'sha256' });
    expect(catalog.register(made).id).toBe('mem');
    expect(catalog.image('mem').equals(made.image)).toBe(true);
  });

  it('registering the same content twice is a no-op; other content under the id is refused unless replaced', () => {
    const catalog = open(tempDir());
    const first = catalog.register(make());
    expect(catalog.register(make())).toBe(first);
    const v2 = make({ version: '1.3.0' });
    expectRefusal(
      () => catalog.register(v2),
      'BITSTREAM_EXISTS',
      /already in the catalog with other content \(version 1.2.3\)/,
    );
    expect(catalog.register(v2, { replace: true }).version).toBe('1.3.0');
    expect(catalog.get('test-crc').version).toBe('1.3.0');
  });

  it('refuses to register anything that fails verification, and copies nothing', () => {
    const dir = tempDir();
    const catalog = open(dir);
    const unsigned = make({}, { sign: false });
    expectRefusal(() => catalog.register(unsigned), 'BITSTREAM_UNSIGNED');
    const { descriptor, image } = make();
    expectRefusal(() => catalog.register({ descriptor, image: image.subarray(0, 500) }), 'BITSTREAM_SIZE');
    expectRefusal(
      () => catalog.register({ descriptor: { ...descriptor, id: 'x' }, image }),
      'BITSTREAM_DESCRIPTOR',
    );
    expectRefusal(
      () => Catalog.open(dir, { trust: TrustStore.empty() }).register(make()),
      'BITSTREAM_UNKNOWN_KEY',
    );
    expect(catalog.list()).toEqual([]);
    expect(existsSync(path.join(dir, 'test-crc.rabit'))).toBe(false);
  });

  it('allows unsigned images only under a policy that says so', () => {
    const catalog = open(tempDir(), { policy: { allowUnsigned: true } });
    expect(catalog.register(make({}, { sign: false })).signature).toEqual({ signed: false });
  });

  it('lists invalid descriptors found in the folder as problems, or throws when strict', () => {
    const dir = tempDir();
    write(dir, make({ id: 'good' }));
    const bad = make({ id: 'bad' });
    write(dir, bad);
    writeFileSync(path.join(dir, 'bad.rabit'), bad.image.subarray(0, 200));
    writeFileSync(path.join(dir, 'renamed.rabit.json'), formatDescriptor(make({ id: 'good' }).descriptor));
    const catalog = open(dir);
    expect(catalog.list().map((e) => e.id)).toEqual(['good']);
    expect(catalog.problems.map((p) => [path.basename(p.file), p.code])).toEqual([
      ['bad.rabit.json', 'BITSTREAM_SIZE'],
      ['renamed.rabit.json', 'BITSTREAM_DESCRIPTOR'],
    ]);
    expect(catalog.problems[1]!.message).toMatch(/describes bitstream good: rename it to good.rabit.json/);
    expectRefusal(() => open(dir, { strict: true }), 'BITSTREAM_SIZE');
  });

  it('refuses a descriptor in the folder that is a symlink to one outside it', () => {
    const outside = tempDir();
    const dir = tempDir();
    write(outside, make({ id: 'far' }));
    symlinkSync(path.join(outside, 'far.rabit.json'), path.join(dir, 'far.rabit.json'));
    const catalog = open(dir);
    expect(catalog.list()).toEqual([]);
    expect(catalog.problems[0]?.code).toBe('BITSTREAM_PATH');
  });

  it('get() of an unknown id says how to list them, and names no server path nor other ids', () => {
    const dir = tempDir();
    const catalog = open(dir);
    catalog.register(make({ id: 'a1' }));
    const { message } = expectRefusal(
      () => catalog.get('zz'),
      'BITSTREAM_NOT_FOUND',
      /no bitstream 'zz' .*GET \/v1\/bitstreams/,
    );
    expect(message).not.toContain(dir);
    expect(message).not.toContain('a1');
  });

  it('findByFunction returns compatible entries, newest version first', () => {
    const catalog = open(tempDir());
    catalog.register(make({ id: 'crc-old', version: '1.0.0' }));
    catalog.register(make({ id: 'crc-new', version: '1.10.0' }));
    catalog.register(make({ id: 'crc-rc', version: '1.10.0-rc.1' }));
    catalog.register(make({ id: 'crc-big', version: '2.0.0', payloadBytes: 64 * KiB }));
    catalog.register(make({ id: 'crc-spec2', version: '3.0.0', specMin: '2.0', specMax: '2.x' }));
    catalog.register(make({ id: 'sha', function: 'sha256' }));
    expect(catalog.findByFunction('crc32c').map((e) => e.id)).toEqual([
      'crc-spec2',
      'crc-big',
      'crc-new',
      'crc-rc',
      'crc-old',
    ]);
    expect(
      catalog.findByFunction('crc32c', { specVersion: '1.0', slotBytes: 32 * KiB }).map((e) => e.id),
    ).toEqual(['crc-new', 'crc-rc', 'crc-old']);
    expect(catalog.findByFunction('sha256', modelIdentity).map((e) => e.id)).toEqual(['sha']);
    expect(catalog.findByFunction('aes-256-gcm')).toEqual([]);
  });

  it('image() re-verifies the sha256 and refuses a file changed on disk', () => {
    const dir = tempDir();
    const catalog = open(dir);
    catalog.register(make());
    const file = path.join(dir, 'test-crc.rabit');
    const bytes = readFileSync(file);
    bytes[300]! ^= 1;
    writeFileSync(file, bytes);
    expectRefusal(() => catalog.image('test-crc'), 'BITSTREAM_HASH', /changed on disk since it was verified/);
  });

  it('unregister removes both files', () => {
    const dir = tempDir();
    const catalog = open(dir);
    catalog.register(make());
    catalog.unregister('test-crc');
    expect(catalog.has('test-crc')).toBe(false);
    expect(existsSync(path.join(dir, 'test-crc.rabit.json'))).toBe(false);
    expect(existsSync(path.join(dir, 'test-crc.rabit'))).toBe(false);
  });

  it('keeps the signature valid through the copy (formatting does not matter)', () => {
    const src = tempDir();
    const made = make();
    const d = clone(made.descriptor);
    writeFileSync(path.join(src, 'test-crc.rabit.json'), JSON.stringify(d));
    writeFileSync(path.join(src, 'test-crc.rabit'), made.image);
    const dir = tempDir();
    open(dir).register(path.join(src, 'test-crc.rabit.json'));
    expect(readFileSync(path.join(dir, 'test-crc.rabit.json'), 'utf8')).toBe(formatDescriptor(d));
    expect(open(dir, { strict: true }).list()).toHaveLength(1);
  });
});
