// The snapshot file (snapshot.json): the whole state as of journal record `seq`, with a CRC-32 over
// `seq|JSON({allocations, intents})`. It is written to snapshot.json.tmp, fsync'd, renamed over
// snapshot.json and the directory fsync'd, so it is never torn: a snapshot that fails its checks is real
// corruption and refuses the open. Each step is a function of its own so tests can stop between them.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { checksum } from './checksum.js';
import {
  fsyncDirectory,
  fsyncDirectoryAsync,
  renameAsync,
  writeFileDurably,
  writeFileDurablyAsync,
} from './durable.js';
import { StoreCode, StoreError } from './errors.js';
import type { MutableState } from './state.js';
import type { Intent, StoredAllocation } from './store.js';
import { checkAllocation, checkIntent, fields, ShapeError } from './validate.js';

export const SNAPSHOT_FILE = 'snapshot.json';
export const SNAPSHOT_TMP_FILE = 'snapshot.json.tmp';
const FORMAT = 'rafabric-allocation-snapshot';
const VERSION = 1;

export interface Snapshot {
  /** Journal records with seq <= this are in the snapshot (0: no record). */
  seq: number;
  state: MutableState;
}

function body(allocations: unknown, intents: unknown): string {
  return JSON.stringify({ allocations, intents });
}

export function encodeSnapshot(seq: number, state: MutableState): string {
  const allocations = [...state.allocations.values()];
  const intents = [...state.intents.values()];
  const crc = checksum(`${seq}|${body(allocations, intents)}`);
  return `${JSON.stringify({ format: FORMAT, version: VERSION, seq, crc, allocations, intents })}\n`;
}

/** Parses and checks a snapshot file's text; throws CORRUPT naming the file and what to do. */
export function decodeSnapshot(text: string, file: string): Snapshot {
  const corrupt = (problem: string): never => {
    throw new StoreError(
      StoreCode.CORRUPT,
      `${file} is damaged (${problem}). Snapshots are installed by an atomic rename, so this is not a ` +
        'crash mid-write: restore the directory from a backup. Do not delete the file: the journal holds ' +
        'only the records written after it.',
      { file, problem },
    );
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return corrupt('not valid JSON');
  }
  try {
    const o = fields(value, 'snapshot', ['format', 'version', 'seq', 'crc', 'allocations', 'intents']);
    if (o.format !== FORMAT) return corrupt(`format is ${JSON.stringify(o.format)}, expected ${FORMAT}`);
    if (o.version !== VERSION) return corrupt(`version ${String(o.version)} is not supported (expected 1)`);
    const { seq, crc, allocations, intents } = o;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
      return corrupt('seq is not an integer >= 0');
    if (!Array.isArray(allocations) || !Array.isArray(intents))
      return corrupt('allocations/intents are not arrays');
    if (typeof crc !== 'number' || checksum(`${seq}|${body(allocations, intents)}`) !== crc) {
      return corrupt('checksum mismatch');
    }
    const state: MutableState = { allocations: new Map(), intents: new Map() };
    allocations.forEach((a, i) => {
      const allocation: StoredAllocation = checkAllocation(a, `allocations[${i}]`);
      if (state.allocations.has(allocation.id)) corrupt(`allocation ${allocation.id} appears twice`);
      state.allocations.set(allocation.id, allocation);
    });
    intents.forEach((v, i) => {
      const intent: Intent = checkIntent(v, `intents[${i}]`);
      if (state.intents.has(intent.id)) corrupt(`intent ${intent.id} appears twice`);
      state.intents.set(intent.id, intent);
    });
    return { seq, state };
  } catch (err) {
    if (err instanceof ShapeError) return corrupt(err.message);
    throw err;
  }
}

/** Compaction step 1: the new snapshot, complete and fsync'd, under the temporary name. */
export function writeSnapshotTmp(dir: string, text: string): void {
  writeFileDurably(join(dir, SNAPSHOT_TMP_FILE), text);
}

/** Compaction step 2: the atomic switch to the new snapshot. */
export function renameSnapshotTmp(dir: string): void {
  fs.renameSync(join(dir, SNAPSHOT_TMP_FILE), join(dir, SNAPSHOT_FILE));
}

/** Compaction step 3: the rename itself made durable. */
export function syncSnapshotDirectory(dir: string): void {
  fsyncDirectory(dir);
}

/** The three steps off the event loop, in the same order (the journal's automatic compaction). */
export const writeSnapshotTmpAsync = (dir: string, text: string): Promise<void> =>
  writeFileDurablyAsync(join(dir, SNAPSHOT_TMP_FILE), text);

export const renameSnapshotTmpAsync = (dir: string): Promise<void> =>
  renameAsync(join(dir, SNAPSHOT_TMP_FILE), join(dir, SNAPSHOT_FILE));

export const syncSnapshotDirectoryAsync = (dir: string): Promise<void> => fsyncDirectoryAsync(dir);
