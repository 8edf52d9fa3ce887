// Bitstream files on disk: `<id>.rabit.json` (descriptor) beside `<id>.rabit` (image). Reading keeps
// the image inside the descriptor's folder (paths.ts); writing replaces both files atomically.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RaError } from '../common/errors.js';
import { BitstreamCode } from './codes.js';
import {
  DESCRIPTOR_FILE_SUFFIX,
  type Descriptor,
  formatDescriptor,
  IMAGE_FILE_SUFFIX,
  parseDescriptor,
  type UnsignedDescriptor,
} from './descriptor.js';
import { resolveInside } from './paths.js';

export interface BitstreamFiles {
  descriptor: Descriptor;
  image: Buffer;
  descriptorPath: string;
  imagePath: string;
}

/** `x.rabit.json` as given; `x.rabit` -> `x.rabit.json` beside it. */
export function descriptorPathFor(file: string): string {
  if (file.endsWith(IMAGE_FILE_SUFFIX) && existsSync(`${file}.json`)) return `${file}.json`;
  if (file.endsWith(IMAGE_FILE_SUFFIX)) {
    throw new RaError(
      BitstreamCode.DESCRIPTOR,
      `${file} has no descriptor beside it (${path.basename(file)}.json): every image needs one`,
    );
  }
  return file;
}

/** Reads a descriptor file (schema-checked) and the image it names, which must lie beside it. */
export function readBitstream(file: string): BitstreamFiles {
  const descriptorPath = path.resolve(descriptorPathFor(file));
  let text: string;
  try {
    text = readFileSync(descriptorPath, 'utf8');
  } catch (err) {
    throw new RaError(
      BitstreamCode.DESCRIPTOR,
      `cannot read descriptor ${descriptorPath}: ${(err as Error).message}`,
    );
  }
  const descriptor = parseDescriptor(text, `descriptor ${path.basename(descriptorPath)}`);
  const imagePath = resolveInside(
    path.dirname(descriptorPath),
    descriptor.image.file,
    'descriptor.image.file',
  );
  let image: Buffer;
  try {
    image = readFileSync(imagePath);
  } catch (err) {
    throw new RaError(BitstreamCode.IMAGE, `cannot read image ${imagePath}: ${(err as Error).message}`);
  }
  return { descriptor, image, descriptorPath, imagePath };
}

export interface WrittenFiles {
  descriptorPath: string;
  imagePath: string;
  /** False when both files already held exactly these bytes (nothing was written). */
  changed: boolean;
}

/** Writes `dir/<id>.rabit` and `dir/<id>.rabit.json` (image first, each through a rename). */
export function writeBitstreamFiles(
  dir: string,
  descriptor: Descriptor | UnsignedDescriptor,
  image: Uint8Array,
): WrittenFiles {
  const imagePath = path.join(dir, `${descriptor.id}${IMAGE_FILE_SUFFIX}`);
  const descriptorPath = path.join(dir, `${descriptor.id}${DESCRIPTOR_FILE_SUFFIX}`);
  const text = Buffer.from(formatDescriptor(descriptor), 'utf8');
  let changed = false;
  for (const [file, bytes] of [
    [imagePath, image],
    [descriptorPath, text],
  ] as const) {
    if (existsSync(file) && readFileSync(file).equals(bytes)) continue;
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, bytes);
    renameSync(temp, file);
    changed = true;
  }
  return { descriptorPath, imagePath, changed };
}
