// The few file-system steps that make a write durable: write every byte, fsync the file, fsync the
// directory after a file is created, renamed or removed (so the directory entry survives a power cut).
import * as fs from 'node:fs';

/** fs.writeSync may write fewer bytes than asked (disk full, signals): loop until all are written. */
export function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) {
    offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
  }
}

export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `text` to a new (or emptied) file and fsyncs it before returning. */
export function writeFileDurably(path: string, text: string): void {
  const fd = fs.openSync(path, 'w', 0o600);
  try {
    writeAll(fd, Buffer.from(text, 'utf8'));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The file's bytes, or undefined when it does not exist. */
export function readIfExists(path: string): Buffer | undefined {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

// The same steps off the event loop (the journal's writer uses them for compaction and the marker, so a
// compaction every few hundred records does not stall every request in the process on its fsyncs).

export async function fsyncDirectoryAsync(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeFileDurablyAsync(path: string, text: string): Promise<void> {
  const handle = await fs.promises.open(path, 'w', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function renameAsync(from: string, to: string): Promise<void> {
  await fs.promises.rename(from, to);
}
