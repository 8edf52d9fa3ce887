// Files named by a descriptor stay in its folder: no '..', no absolute paths, no symlinks outside.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDescriptor } from '../../src/bitstream/descriptor.js';
import { readBitstream } from '../../src/bitstream/files.js';
import { clone, expectRefusal, make, useTempDir, write } from './fixtures.js';

const tempDir = useTempDir();

describe('bitstream files', () => {
  it('reads a descriptor and the image beside it, from either file name', () => {
    const dir = tempDir();
    const made = make();
    const file = write(dir, made);
    expect(path.basename(file)).toBe('test-crc.rabit.json');
    const a = readBitstream(file);
    const b = readBitstream(path.join(dir, 'test-crc.rabit'));
    expect(a.image.equals(made.image)).toBe(true);
    expect(b.descriptorPath).toBe(a.descriptorPath);
    expect(a.imagePath).toBe(path.join(dir, 'test-crc.rabit'));
  });

  it('refuses an image without a descriptor', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'x.rabit'), make().image);
    expectRefusal(
      () => readBitstream(path.join(dir, 'x.rabit')),
      'BITSTREAM_DESCRIPTOR',
      /no descriptor beside it/,
    );
  });

  it('refuses a missing image', () => {
    const dir = tempDir();
    const file = write(dir, make());
    renameSync(path.join(dir, 'test-crc.rabit'), path.join(dir, 'elsewhere'));
    expectRefusal(() => readBitstream(file), 'BITSTREAM_IMAGE', /does not exist/);
  });

  for (const name of ['../test-crc.rabit', '/tmp/test-crc.rabit', 'sub/test-crc.rabit', '..']) {
    it(`refuses image.file '${name}' (escapes the folder)`, () => {
      const dir = tempDir();
      const made = make();
      const d = clone(made.descriptor);
      d.image.file = name;
      writeFileSync(path.join(dir, 'test-crc.rabit.json'), formatDescriptor(d));
      expectRefusal(
        () => readBitstream(path.join(dir, 'test-crc.rabit.json')),
        'BITSTREAM_PATH',
        /must be a plain file name/,
      );
    });
  }

  it('refuses an image that is a symlink to a file outside the folder', () => {
    const outside = tempDir();
    const dir = tempDir();
    const made = make();
    writeFileSync(path.join(outside, 'real.rabit'), made.image);
    writeFileSync(path.join(dir, 'test-crc.rabit.json'), formatDescriptor(made.descriptor));
    symlinkSync(path.join(outside, 'real.rabit'), path.join(dir, 'test-crc.rabit'));
    expectRefusal(
      () => readBitstream(path.join(dir, 'test-crc.rabit.json')),
      'BITSTREAM_PATH',
      /is a symlink to .*outside/,
    );
  });

  it('refuses a relative symlink that climbs out of the folder', () => {
    const parent = tempDir();
    const dir = path.join(parent, 'catalog');
    mkdirSync(dir);
    const made = make();
    writeFileSync(path.join(parent, 'real.rabit'), made.image);
    writeFileSync(path.join(dir, 'test-crc.rabit.json'), formatDescriptor(made.descriptor));
    symlinkSync('../real.rabit', path.join(dir, 'test-crc.rabit'));
    expectRefusal(() => readBitstream(path.join(dir, 'test-crc.rabit.json')), 'BITSTREAM_PATH', /outside/);
  });

  it('accepts a symlink to a file inside the same folder', () => {
    const dir = tempDir();
    const made = make();
    writeFileSync(path.join(dir, 'v1.bin'), made.image);
    writeFileSync(path.join(dir, 'test-crc.rabit.json'), formatDescriptor(made.descriptor));
    symlinkSync('v1.bin', path.join(dir, 'test-crc.rabit'));
    expect(readBitstream(path.join(dir, 'test-crc.rabit.json')).image.equals(made.image)).toBe(true);
  });

  it('refuses a dangling symlink and a folder in place of the image', () => {
    const dir = tempDir();
    const made = make();
    writeFileSync(path.join(dir, 'test-crc.rabit.json'), formatDescriptor(made.descriptor));
    symlinkSync('nothing-here', path.join(dir, 'test-crc.rabit'));
    expectRefusal(() => readBitstream(path.join(dir, 'test-crc.rabit.json')), 'BITSTREAM_IMAGE', /dangling/);
    const dir2 = tempDir();
    writeFileSync(path.join(dir2, 'test-crc.rabit.json'), formatDescriptor(made.descriptor));
    mkdirSync(path.join(dir2, 'test-crc.rabit'));
    expectRefusal(
      () => readBitstream(path.join(dir2, 'test-crc.rabit.json')),
      'BITSTREAM_IMAGE',
      /not a regular file/,
    );
  });
});
