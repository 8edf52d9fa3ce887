// The embedded allocation store: an fsync'd append-only journal with periodic compaction into a snapshot.
//
// Why not SQLite (better-sqlite3)? It needs a native build — on an offline machine better-sqlite3 compiles
// SQLite from source, minutes on two cores — for state that is small (allocations, not data). Here every
// write is one whole-line append to journal.jsonl followed by fsync, and recovery is a replay of that file
// over snapshot.json that the tests can reason about record by record. See README.md in this folder.
//
// Files in the store directory:
//   snapshot.json       the state as of journal record `seq` (checksummed; installed by atomic rename)
//   snapshot.json.tmp   a snapshot being written (left only by an interrupted compaction; removed on open)
//   journal.jsonl       records after the snapshot: {seq, op, data, crc} per line (journal.ts)
//   lock                {pid, hostname, acquiredAt} of the process that has the directory open (lock.ts)
//
// Crash safety, step by step:
// - append: write(line) then fsync; the operation returns (and the GRM acknowledges) only after fsync.
//   A crash mid-append leaves a torn or damaged LAST line: it was never acknowledged, open cuts it away
//   and says so in load().diagnostics. A damaged line with records after it refuses the open.
// - compaction: write snapshot.json.tmp + fsync, rename over snapshot.json, fsync the directory, truncate
//   the journal + fsync. A crash before the rename leaves the old snapshot and the whole journal (the tmp
//   file is deleted on open); a crash after it leaves journal records with seq <= the snapshot's seq, which
//   replay skips (and open then finishes the compaction). Records must be consecutive: a gap refuses the open.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fsyncDirectory, readIfExists, writeAll } from './durable.js';
import { StoreCode, StoreError } from './errors.js';
import { encodeRecord, JOURNAL_FILE, type JournalRecord, scanJournal } from './journal.js';
import { DirectoryLock } from './lock.js';
import {
  decodeSnapshot,
  encodeSnapshot,
  renameSnapshotTmp,
  SNAPSHOT_FILE,
  SNAPSHOT_TMP_FILE,
  syncSnapshotDirectory,
  writeSnapshotTmp,
} from './snapshot.js';
import {
  applyOperation,
  checkApplicable,
  checkOperation,
  cloneState,
  emptyState,
  type MutableState,
  type Operation,
} from './state.js';
import type { AllocationStore, Intent, StoreDiagnostics, StoredAllocation, StoreState } from './store.js';
import { checkAllocation, checkId, checkIntent, normalized, ShapeError } from './validate.js';

export type CompactionStep =
  | 'snapshot-written'
  | 'snapshot-renamed'
  | 'directory-synced'
  | 'journal-truncated';

export interface JournalStoreOptions {
  /** Compact after this many journal records (default 1000). */
  compactEveryRecords?: number;
  /**
   * Called after each compaction step (tests copy the directory here to get the disk image of a crash at
   * that point). An exception thrown here stops the compaction, as a failed step would.
   */
  onCompactionStep?: (step: CompactionStep) => void;
}

interface Recovered {
  state: MutableState;
  snapshotSeq: number;
  lastSeq: number;
  /** Records after the snapshot. */
  journalRecords: number;
  /** Records already in the snapshot (left by a compaction interrupted after its rename). */
  skippedRecords: number;
}

export class JournalStore implements AllocationStore {
  private closed = false;
  /** Set when a write or fsync failed: the file's state is unknown, so no further writes. */
  private failure: Error | undefined;
  private nextCompactionAt: number;

  private constructor(
    readonly dir: string,
    private readonly fd: number,
    private readonly lock: DirectoryLock,
    private state: MutableState,
    private seq: number,
    private journalRecords: number,
    private readonly diagnostics: StoreDiagnostics,
    private readonly compactEveryRecords: number,
    private readonly onCompactionStep: ((step: CompactionStep) => void) | undefined,
  ) {
    this.nextCompactionAt = compactEveryRecords;
  }

  /** Opens (creating if needed) the store in `dir`: takes the lock, loads the snapshot, replays the journal. */
  static open(dir: string, options: JournalStoreOptions = {}): JournalStore {
    const compactEveryRecords = options.compactEveryRecords ?? 1000;
    if (!Number.isSafeInteger(compactEveryRecords) || compactEveryRecords < 1) {
      throw new StoreError(
        StoreCode.INVALID_ARGUMENT,
        `compactEveryRecords must be an integer >= 1 (got ${String(compactEveryRecords)})`,
      );
    }
    fs.mkdirSync(dir, { recursive: true });
    const diagnostics: StoreDiagnostics = { repairedTail: false, ignoredBytes: 0, warnings: [] };
    const lock = DirectoryLock.acquire(dir, diagnostics.warnings);
    let fd: number | undefined;
    try {
      removeUnfinishedSnapshot(dir, diagnostics.warnings);
      const journalPath = join(dir, JOURNAL_FILE);
      const journalBytes = readIfExists(journalPath);
      const scan = scanJournal(journalBytes ?? Buffer.alloc(0), journalPath);
      const recovered = recover(dir, scan.records, journalPath);
      fd = fs.openSync(journalPath, 'a', 0o600);
      if (journalBytes === undefined) fsyncDirectory(dir);
      if (scan.ignoredBytes > 0) {
        fs.ftruncateSync(fd, scan.validBytes);
        fs.fsyncSync(fd);
        diagnostics.repairedTail = true;
        diagnostics.ignoredBytes = scan.ignoredBytes;
        diagnostics.warnings.push(
          `cut ${scan.ignoredBytes} bytes from the end of ${journalPath} (${scan.tailProblem}): a crash ` +
            'interrupted that append before it was acknowledged',
        );
      }
      const store = new JournalStore(
        dir,
        fd,
        lock,
        recovered.state,
        recovered.lastSeq,
        recovered.journalRecords,
        diagnostics,
        compactEveryRecords,
        options.onCompactionStep,
      );
      if (recovered.skippedRecords > 0) {
        diagnostics.warnings.push(
          `finished an interrupted compaction: ${recovered.skippedRecords} journal records were already in ` +
            `the snapshot (seq <= ${recovered.snapshotSeq}) and were skipped`,
        );
        store.compact();
      }
      return store;
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      lock.release();
      throw err;
    }
  }

  load(): StoreState {
    this.ensureOpen();
    return {
      ...cloneState(this.state),
      diagnostics: { ...this.diagnostics, warnings: [...this.diagnostics.warnings] },
    };
  }

  recordIntent(intent: Intent): void {
    this.append(() => ({ op: 'intent', data: normalized(intent, checkIntent, 'intent') }));
  }

  commit(allocation: StoredAllocation): void {
    this.append(() => ({ op: 'commit', data: normalized(allocation, checkAllocation, 'allocation') }));
  }

  update(allocation: StoredAllocation): void {
    this.append(() => ({ op: 'update', data: normalized(allocation, checkAllocation, 'allocation') }));
  }

  abortIntent(id: string): void {
    this.append(() => ({ op: 'abort', data: { id: normalized(id, checkId, 'id') } }));
  }

  remove(id: string): void {
    this.append(() => ({ op: 'remove', data: { id: normalized(id, checkId, 'id') } }));
  }

  /** Seq of the last durable record (0 when none was ever written). */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * Writes the whole state into snapshot.json and empties the journal. Runs by itself every
   * compactEveryRecords records; callable directly (tests, an operator's "compact now").
   */
  compact(): void {
    this.ensureWritable();
    writeSnapshotTmp(this.dir, encodeSnapshot(this.seq, this.state));
    this.onCompactionStep?.('snapshot-written');
    renameSnapshotTmp(this.dir);
    this.onCompactionStep?.('snapshot-renamed');
    syncSnapshotDirectory(this.dir);
    this.onCompactionStep?.('directory-synced');
    try {
      fs.ftruncateSync(this.fd, 0);
      fs.fsyncSync(this.fd);
    } catch (err) {
      throw this.fail(err, 'truncating the journal after compaction');
    }
    this.journalRecords = 0;
    this.nextCompactionAt = this.compactEveryRecords;
    this.onCompactionStep?.('journal-truncated');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } finally {
      this.lock.release();
    }
  }

  private append(build: () => Operation): void {
    this.ensureWritable();
    const operation = build();
    checkApplicable(this.state, operation);
    const seq = this.seq + 1;
    try {
      writeAll(this.fd, Buffer.from(encodeRecord(seq, operation.op, operation.data), 'utf8'));
      fs.fsyncSync(this.fd);
    } catch (err) {
      throw this.fail(err, `appending record ${seq} (${operation.op} ${operation.data.id})`);
    }
    this.seq = seq;
    applyOperation(this.state, operation);
    this.journalRecords += 1;
    if (this.journalRecords >= this.nextCompactionAt) this.compactAfterAppend();
  }

  /** A failed automatic compaction loses nothing (the journal still holds every record): note it, go on. */
  private compactAfterAppend(): void {
    try {
      this.compact();
    } catch (err) {
      this.nextCompactionAt = this.journalRecords + this.compactEveryRecords;
      this.diagnostics.warnings.push(
        `compaction at seq ${this.seq} failed (${(err as Error).message}); the journal still holds every ` +
          `record, compaction is retried after ${this.compactEveryRecords} more`,
      );
    }
  }

  private fail(err: unknown, what: string): StoreError {
    this.failure = err as Error;
    return new StoreError(
      StoreCode.IO_FAILED,
      `${what} in ${join(this.dir, JOURNAL_FILE)} failed (${(err as Error).message}). The record may or may ` +
        'not be on disk: the store refuses further writes. Close it and reopen (opening repairs the journal ' +
        'tail); the GRM then reconciles the store with the adapters.',
      { dir: this.dir },
    );
  }

  private ensureOpen(): void {
    if (this.closed)
      throw new StoreError(StoreCode.CLOSED, `the store in ${this.dir} is closed; open it again`);
  }

  private ensureWritable(): void {
    this.ensureOpen();
    if (this.failure) {
      throw new StoreError(
        StoreCode.IO_FAILED,
        `an earlier write to the store in ${this.dir} failed (${this.failure.message}); close and reopen it`,
        { dir: this.dir },
      );
    }
  }
}

function removeUnfinishedSnapshot(dir: string, warnings: string[]): void {
  const path = join(dir, SNAPSHOT_TMP_FILE);
  if (!fs.existsSync(path)) return;
  fs.unlinkSync(path);
  warnings.push(`removed ${path}: a compaction was interrupted before its snapshot was installed`);
}

/** Loads the snapshot and replays the journal records after it, refusing gaps and contradictions. */
function recover(dir: string, records: JournalRecord[], journalPath: string): Recovered {
  const snapshotPath = join(dir, SNAPSHOT_FILE);
  const snapshotBytes = readIfExists(snapshotPath);
  const snapshot = snapshotBytes
    ? decodeSnapshot(snapshotBytes.toString('utf8'), snapshotPath)
    : { seq: 0, state: emptyState() };
  const recovered: Recovered = {
    state: snapshot.state,
    snapshotSeq: snapshot.seq,
    lastSeq: snapshot.seq,
    journalRecords: 0,
    skippedRecords: 0,
  };
  const corrupt = (record: JournalRecord, problem: string): never => {
    throw new StoreError(
      StoreCode.CORRUPT,
      `${journalPath} line ${record.line} (seq ${record.seq}): ${problem}. The store refuses to open rather ` +
        'than guess; restore the store directory from a backup.',
      { file: journalPath, line: record.line, seq: record.seq },
    );
  };
  let previous: JournalRecord | undefined;
  for (const record of records) {
    if (previous && record.seq !== previous.seq + 1) {
      corrupt(
        record,
        `expected seq ${previous.seq + 1} after line ${previous.line}: records are missing or out of order`,
      );
    }
    previous = record;
    if (record.seq <= snapshot.seq) {
      recovered.skippedRecords += 1;
      continue;
    }
    if (record.seq !== recovered.lastSeq + 1) {
      corrupt(
        record,
        `the snapshot ends at seq ${snapshot.seq}, so records ${recovered.lastSeq + 1}..${record.seq - 1} are ` +
          `missing${snapshotBytes ? '' : ` (is ${snapshotPath} missing?)`}`,
      );
    }
    try {
      applyOperation(recovered.state, checkOperation(record.op, record.data));
    } catch (err) {
      if (err instanceof ShapeError) corrupt(record, `invalid ${record.op} record: ${err.message}`);
      if (err instanceof StoreError) corrupt(record, `contradicts the records before it: ${err.message}`);
      throw err;
    }
    recovered.lastSeq = record.seq;
    recovered.journalRecords += 1;
  }
  return recovered;
}
