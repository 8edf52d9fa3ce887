// Files named by descriptors stay inside their folder: a plain name (no folders, no '..', not
// absolute), and a symlink may only point at a regular file inside the same folder.
import { lstatSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { RaError } from '../common/errors.js';
import { BitstreamCode } from './codes.js';

/** Refuses anything but a plain file name; `field` names what held it (descriptor.image.file). */
export function assertPlainFileName(name: string, field: string): void {
  const why =
    name === '' || name === '.' || name === '..'
      ? 'is not a file name'
      : path.isAbsolute(name) || path.win32.isAbsolute(name)
        ? 'is an absolute path'
        : /[/\\]/.test(name)
          ? 'names a folder (contains "/" or "\\")'
          : name.includes('\0')
            ? 'contains a NUL byte'
            : undefined;
  if (why) {
    throw new RaError(
      BitstreamCode.PATH,
      `${field} '${name}' ${why}: it must be a plain file name in the descriptor's folder`,
      { field, name },
    );
  }
}

/** True when `child` (a resolved path) is `dir` or inside it. */
export function isInside(dir: string, child: string): boolean {
  const rel = path.relative(dir, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves `name` in `dir` to a real path inside `dir` (symlinks followed) that is a regular file.
 * BITSTREAM_PATH when it escapes the folder, BITSTREAM_IMAGE when it is missing or not a file.
 */
export function resolveInside(dir: string, name: string, field: string): string {
  assertPlainFileName(name, field);
  const realDir = realpathSync(dir);
  const candidate = path.join(realDir, name);
  try {
    lstatSync(candidate);
  } catch {
    throw new RaError(
      BitstreamCode.IMAGE,
      `${field}: ${candidate} does not exist: put the file beside its descriptor`,
      { field },
    );
  }
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    throw new RaError(BitstreamCode.IMAGE, `${field}: ${candidate} is a dangling symlink`, { field });
  }
  if (!isInside(realDir, real)) {
    throw new RaError(
      BitstreamCode.PATH,
      `${field}: ${candidate} is a symlink to ${real}, outside ${realDir}: copy the file into the folder instead`,
      {
        field,
      },
    );
  }
  if (!statSync(real).isFile())
    throw new RaError(BitstreamCode.IMAGE, `${field}: ${candidate} is not a regular file`, { field });
  return real;
}
