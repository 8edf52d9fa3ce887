// The journal file (journal.jsonl): one record per line, JSON {seq, op, data, crc}, where crc is the
// CRC-32 of `seq|op|JSON(data)`. Records are appended whole (a group commit writes several lines in one
// write) and acknowledged only after fsync, so a crash can leave only an incomplete last line: a last
// line without its newline (or one of nothing but NUL bytes: the file was extended, its data never
// written) was never acknowledged and is cut away. Any other damaged line — the last complete one
// included — may hold an acknowledged record: that is corruption, and the open is refused unless the
// operator asks for a repair (committed records are never dropped silently).
import { checksum } from './checksum.js';
import { StoreCode, StoreError } from './errors.js';
import { type OperationName, operationNames } from './state.js';

export const JOURNAL_FILE = 'journal.jsonl';

export interface JournalRecord {
  seq: number;
  op: OperationName;
  /** Not yet checked against the operation's shape: replay does that (checkOperation). */
  data: unknown;
  /** 1-based line number, for error messages. */
  line: number;
}

export interface JournalScan {
  records: JournalRecord[];
  /** Length of the intact prefix: the journal is truncated to this when the tail is damaged. */
  validBytes: number;
  /** Bytes after the intact prefix (a torn or damaged last record). */
  ignoredBytes: number;
  /** Why the tail was cut, when it was. */
  tailProblem?: string;
  /** With `repair`: the damaged complete last line that was cut (its 1-based number). */
  repairedLine?: number;
}

function recordChecksum(seq: number, op: string, data: unknown): number {
  return checksum(`${seq}|${op}|${JSON.stringify(data)}`);
}

/**
 * One journal line, newline included. `data` must already be JSON-normalized (see validate.ts). The
 * line is JSON.stringify({seq, op, data, crc}) byte for byte, put together from the one serialization
 * of `data` that the checksum needs (a record's data is serialized once, not twice). `dataJson`, when
 * the caller has it already (validate.ts, normalizedWithJson), is that serialization.
 */
export function encodeRecord(
  seq: number,
  op: OperationName,
  data: unknown,
  dataJson: string = JSON.stringify(data),
): string {
  const json = dataJson;
  const crc = checksum(`${seq}|${op}|${json}`);
  return `{"seq":${seq},"op":${JSON.stringify(op)},"data":${json},"crc":${crc}}\n`;
}

/** The record on one line, or why the line is not a record. */
function decodeLine(text: string, line: number): JournalRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const { seq, op, data, crc, ...extra } = value as Record<string, unknown>;
  if (Object.keys(extra).length > 0) return `unknown fields ${Object.keys(extra).join(', ')}`;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    return 'seq is not a positive integer';
  if (typeof op !== 'string' || !operationNames.includes(op as OperationName))
    return `unknown op ${String(op)}`;
  if (data === undefined) return 'data is missing';
  if (typeof crc !== 'number' || !Number.isInteger(crc) || crc < 0 || crc > 0xffffffff) {
    return 'crc is not a 32-bit unsigned integer';
  }
  if (recordChecksum(seq, op, data) !== crc) return 'checksum mismatch';
  return { seq, op: op as OperationName, data, line };
}

/** A line of nothing but NUL bytes: the file grew but the append's data never reached the disk. */
function isUnwritten(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return end > start;
}

/**
 * Splits the journal into records; throws CORRUPT for a damaged record that is not a torn tail (see the
 * head of this file). With `repair`, a damaged complete LAST line is cut instead (and reported in
 * `repairedLine`); damage with records after it is refused even then.
 */
export function scanJournal(bytes: Buffer, file: string, { repair = false } = {}): JournalScan {
  const records: JournalRecord[] = [];
  let start = 0;
  let line = 0;
  while (start < bytes.length) {
    line += 1;
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) {
      // No newline: the append that wrote these bytes never finished, so it was never acknowledged.
      return torn(records, start, bytes.length, `line ${line} is incomplete (no newline)`);
    }
    const decoded = decodeLine(bytes.toString('utf8', start, end), line);
    if (typeof decoded === 'string') {
      const last = end + 1 === bytes.length;
      if (last && isUnwritten(bytes, start, end)) {
        return torn(records, start, bytes.length, `line ${line} is NUL bytes (its data was never written)`);
      }
      if (last && repair) {
        return { ...torn(records, start, bytes.length, `line ${line}: ${decoded}`), repairedLine: line };
      }
      if (last) {
        throw new StoreError(
          StoreCode.CORRUPT,
          `${file} line ${line} (byte ${start}), the last, is complete but damaged (${decoded}). A crash ` +
            'mid-append leaves a line without its newline, so this record may have been acknowledged to a ' +
            'client: the store refuses to open rather than drop it. Restore the directory from a backup; or ' +
            `start with --repair to drop line ${line} (reconciliation then releases the slices it held).`,
          { file, line, offset: start, problem: decoded },
        );
      }
      throw new StoreError(
        StoreCode.CORRUPT,
        `${file} line ${line} (byte ${start}) is damaged (${decoded}) and records follow it, so it is not a ` +
          'crash mid-append: the store refuses to open rather than drop committed records. Restore the ' +
          `directory from a backup; or, to accept losing line ${line} and every record after it, truncate ` +
          `the file to ${start} bytes (truncate -s ${start} '${file}') and reopen.`,
        { file, line, offset: start, problem: decoded },
      );
    }
    records.push(decoded);
    start = end + 1;
  }
  return { records, validBytes: bytes.length, ignoredBytes: 0 };
}

function torn(records: JournalRecord[], validBytes: number, length: number, problem: string): JournalScan {
  return { records, validBytes, ignoredBytes: length - validBytes, tailProblem: problem };
}
