// The journal file (journal.jsonl): one record per line, JSON {seq, op, data, crc}, where crc is the
// CRC-32 of `seq|op|JSON(data)`. Records are appended whole and fsync'd one at a time, so a crash can
// damage only the last one: a damaged last record was never acknowledged and is cut away; a damaged
// record with records after it is real corruption and refuses the open (committed records are never
// dropped silently).
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
}

function recordChecksum(seq: number, op: string, data: unknown): number {
  return checksum(`${seq}|${op}|${JSON.stringify(data)}`);
}

/** One journal line, newline included. `data` must already be JSON-normalized (see validate.ts). */
export function encodeRecord(seq: number, op: OperationName, data: unknown): string {
  return `${JSON.stringify({ seq, op, data, crc: recordChecksum(seq, op, data) })}\n`;
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

/** Splits the journal into records; throws CORRUPT for a damaged record that is not the last one. */
export function scanJournal(bytes: Buffer, file: string): JournalScan {
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
      if (end + 1 === bytes.length) return torn(records, start, bytes.length, `line ${line}: ${decoded}`);
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
