// The store marker (store.json): says "this directory is a store" and which snapshot the journal's
// records continue from. It lets open tell an emptied or deleted journal.jsonl (corruption: acknowledged
// records are gone) from a fresh store or a journal that a compaction emptied (both legitimate):
//   - an empty directory is a fresh store (the marker is written first, with journalAfterSeq null);
//   - before the first record goes into an empty journal, the marker is rewritten (atomically) with
//     journalAfterSeq = the snapshot's seq; so a journal found empty or missing while the newest snapshot
//     is not newer than journalAfterSeq has lost records.
// It is rewritten once per compaction cycle (every compactEveryRecords records), not per commit.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  fsyncDirectory,
  fsyncDirectoryAsync,
  readIfExists,
  renameAsync,
  writeFileDurably,
  writeFileDurablyAsync,
} from './durable.js';
import { StoreCode, StoreError } from './errors.js';

export const MARKER_FILE = 'store.json';
const MARKER_TMP_FILE = 'store.json.tmp';
const FORMAT = 'rafabric-allocation-store';

export interface Marker {
  /** null: no record was ever appended to the journal; else the snapshot seq its records follow. */
  journalAfterSeq: number | null;
}

/** The marker, or undefined when the directory has none; throws CORRUPT when it is damaged. */
export function readMarker(dir: string): Marker | undefined {
  const path = join(dir, MARKER_FILE);
  const bytes = readIfExists(path);
  if (bytes === undefined) return undefined;
  const corrupt = (problem: string): never => {
    throw new StoreError(
      StoreCode.CORRUPT,
      `${path} is damaged (${problem}). It is installed by an atomic rename, so this is not a crash: ` +
        'restore the directory from a backup, or start with --repair to rewrite it.',
      { file: path, problem },
    );
  };
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return corrupt('not valid JSON');
  }
  const o = value as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== FORMAT || o.version !== 1)
    return corrupt(`not a ${FORMAT} version 1 marker`);
  const after = o.journalAfterSeq;
  if (after !== null && (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0))
    return corrupt('journalAfterSeq is not null or an integer >= 0');
  return { journalAfterSeq: after as number | null };
}

function markerText(marker: Marker): string {
  return `${JSON.stringify({ format: FORMAT, version: 1, journalAfterSeq: marker.journalAfterSeq })}\n`;
}

/** Installs the marker atomically (tmp + fsync + rename + directory fsync). */
export function writeMarker(dir: string, marker: Marker): void {
  writeFileDurably(join(dir, MARKER_TMP_FILE), markerText(marker));
  fs.renameSync(join(dir, MARKER_TMP_FILE), join(dir, MARKER_FILE));
  fsyncDirectory(dir);
}

/** writeMarker off the event loop (the journal's writer, once per compaction cycle). */
export async function writeMarkerAsync(dir: string, marker: Marker): Promise<void> {
  await writeFileDurablyAsync(join(dir, MARKER_TMP_FILE), markerText(marker));
  await renameAsync(join(dir, MARKER_TMP_FILE), join(dir, MARKER_FILE));
  await fsyncDirectoryAsync(dir);
}
