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
//   store.json          the marker: which snapshot the journal continues from (marker.ts)
//   lock                {pid, hostname, acquiredAt} of the process that has the directory open (lock.ts)
//
// Crash safety, step by step:
// - append (group commit): a write queues its record; one writer at a time writes every queued line in
//   one write() and one fsync, then resolves each of those writes. While that fsync runs, new records
//   queue for the next one, so N concurrent commits cost far fewer than N fsyncs, and each caller (the
//   GRM, then its client) hears success only after its own record is on disk.
//   A crash mid-append leaves an incomplete LAST line (no newline): it was never acknowledged, open cuts
//   it away and says so in load().diagnostics. Any other damage refuses the open (journal.ts), as does
//   an emptied or deleted journal that the marker says held records; `repair: true` opens anyway.
// - a failed write: the journal is cut back to its last durable length and every queued write rejects
//   with STORE_UNAVAILABLE (nothing happened). After a full disk (ENOSPC, EDQUOT) the store takes
//   writes again; after any other error, or a failed fsync (the kernel may have dropped the pages), it
//   refuses writes until it is reopened.
// - compaction: write snapshot.json.tmp + fsync, rename over snapshot.json, fsync the directory, truncate
//   the journal + fsync. A crash before the rename leaves the old snapshot and the whole journal (the tmp
//   file is deleted on open); a crash after it leaves journal records with seq <= the snapshot's seq, which
//   replay skips (and open then finishes the compaction). Records must be consecutive: a gap refuses the open.
//   compact() does these steps with blocking calls (no write may be in flight). The automatic compaction
//   (every compactEveryRecords records) runs beside the appends instead (rotation.ts): the writer writes
//   each batch to journal.jsonl and to journal.jsonl.tmp (records after the snapshot's seq only) while
//   the snapshot is written, renamed and its directory fsync'd; then journal.jsonl.tmp is renamed over
//   journal.jsonl, the directory fsync'd, and the writer drops the old file between two batches. No
//   commit waits for a compaction's fsyncs (they made the tail of issue 11's end-to-end latency). A
//   crash before that rename leaves the old journal with every record (journal.jsonl.tmp is deleted on
//   open), after it the new journal with every record after the snapshot.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  fsyncDirectory,
  fsyncDirectoryAsync,
  readIfExists,
  renameAsync,
  writeAll,
  writeFileDurably,
} from './durable.js';
import { StoreCode, StoreError } from './errors.js';
import { encodeRecord, JOURNAL_FILE, type JournalRecord, scanJournal } from './journal.js';
import { DirectoryLock } from './lock.js';
import { MARKER_FILE, readMarker, writeMarker, writeMarkerAsync } from './marker.js';
import { checkExpectedRevision, Revisions } from './revisions.js';
import { JOURNAL_TMP_FILE, JournalRotation, removeUnfinishedJournal } from './rotation.js';
import {
  decodeSnapshot,
  encodeSnapshot,
  renameSnapshotTmp,
  renameSnapshotTmpAsync,
  SNAPSHOT_FILE,
  SNAPSHOT_TMP_FILE,
  syncSnapshotDirectory,
  syncSnapshotDirectoryAsync,
  writeSnapshotTmp,
  writeSnapshotTmpAsync,
} from './snapshot.js';
import {
  applyOperation,
  checkApplicable,
  checkOperation,
  cloneState,
  commitAllOf,
  emptyState,
  type MutableState,
  type Operation,
} from './state.js';
import type {
  AllocationStore,
  Intent,
  StoreDiagnostics,
  StoredAllocation,
  StoreHealth,
  StoreState,
  WriteOptions,
} from './store.js';
import {
  checkAllocation,
  checkId,
  checkIntent,
  normalized,
  normalizedWithJson,
  ShapeError,
} from './validate.js';

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
   * that point). An exception thrown here stops the compaction, as a failed step would. The automatic
   * compaction waits for a returned promise before its next step (tests hold it there); compact() does not.
   */
  onCompactionStep?: (step: CompactionStep) => void | Promise<void>;
  /**
   * Open a damaged store anyway (the operator's `serve --repair`): a damaged last journal line is cut, an
   * emptied or deleted journal is accepted, a damaged marker rewritten. Each repair is a warning in
   * load().diagnostics. Damage with records after it is refused even so.
   */
  repair?: boolean;
}

/** health() after a full disk writes a probe file this big (a few records) to see whether space is back. */
const PROBE_BYTES = 16 * 1024;
const PROBE_FILE = 'probe.tmp';

/** An operation with, when its builder has it, the JSON text of its data (validate.ts, normalizedWithJson). */
type WithJson<T> = T & { dataJson?: string };

interface Queued {
  seq: number;
  operation: Operation;
  line: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
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
  readonly singleWriter: boolean = true;
  private closed = false;
  /** Set when an fsync (or a cut after a failed write) failed: the file's state is unknown. */
  private failure: Error | undefined;
  /** Set when a write hit a full disk; cleared by the next durable write. */
  private diskFull: Error | undefined;
  private nextCompactionAt: number;
  /** The durable state plus every queued record: what a new record is checked against. */
  private ahead: MutableState;
  /** Seq of the last record queued (>= this.seq). */
  private queuedSeq: number;
  private queue: Queued[] = [];
  /** The writer loop, while one runs: close() waits for it. */
  private writer: Promise<void> | undefined;
  /** The automatic compaction, while one runs beside the appends: close() waits for it. */
  private compacting: Promise<void> | undefined;
  /** Its new journal, which every batch is written to as well until the writer switches to it. */
  private rotation: JournalRotation | undefined;
  private journalBytes: number;
  private fsyncCount = 0;
  /**
   * Revisions (store.ts, WriteOptions) are record seqs: one writer, so its own sequence orders every write.
   * Records found on open all have the seq the store opened at (the snapshot keeps no per-record seq):
   * revisions identify versions within one open, which is what a caller holding one needs.
   */
  private revisions: Revisions;
  /** The revisions with every queued record applied: what a compare-and-swap is checked against. */
  private aheadRevisions: Revisions;

  private constructor(
    readonly dir: string,
    private fd: number,
    private readonly lock: DirectoryLock,
    private state: MutableState,
    private seq: number,
    private journalRecords: number,
    journalBytes: number,
    private readonly diagnostics: StoreDiagnostics,
    private readonly compactEveryRecords: number,
    private readonly onCompactionStep: ((step: CompactionStep) => void) | undefined,
  ) {
    this.nextCompactionAt = compactEveryRecords;
    this.ahead = cloneState(state);
    this.queuedSeq = seq;
    this.journalBytes = journalBytes;
    this.revisions = new Revisions(
      new Map([...state.allocations.keys()].map((id) => [id, seq])),
      new Map([...state.intents.keys()].map((id) => [id, seq])),
    );
    this.aheadRevisions = this.revisions.clone();
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
    const repair = options.repair ?? false;
    fs.mkdirSync(dir, { recursive: true });
    const diagnostics: StoreDiagnostics = { repairedTail: false, ignoredBytes: 0, warnings: [] };
    const lock = DirectoryLock.acquire(dir, diagnostics.warnings);
    let fd: number | undefined;
    try {
      removeUnfinishedSnapshot(dir, diagnostics.warnings);
      removeUnfinishedJournal(dir, diagnostics.warnings);
      const journalPath = join(dir, JOURNAL_FILE);
      const journalBytes = readIfExists(journalPath);
      const marker = openMarker(dir, repair, diagnostics.warnings);
      const fresh =
        marker === undefined && journalBytes === undefined && !fs.existsSync(join(dir, SNAPSHOT_FILE));
      const scan = scanJournal(journalBytes ?? Buffer.alloc(0), journalPath, { repair });
      const recovered = recover(dir, scan.records, journalPath);
      // No record left (the file missing, empty, or only a torn line): legitimate only if none was ever
      // durable in it since the newest snapshot.
      if (marker && scan.records.length === 0) {
        checkJournalNotLost(
          dir,
          marker.journalAfterSeq,
          recovered.snapshotSeq,
          journalBytes,
          repair,
          diagnostics,
        );
      }
      // The marker says where the journal as found continues from (records[0].seq - 1), or keeps what it
      // said for an empty journal; a store written before markers existed gets one.
      const journalAfterSeq =
        scan.records.length > 0 ? scan.records[0]!.seq - 1 : (marker?.journalAfterSeq ?? null);
      if (marker === undefined && !fresh) {
        diagnostics.warnings.push(`created ${join(dir, MARKER_FILE)} (the store was written without one)`);
      }
      if (marker === undefined || repair || marker.journalAfterSeq !== journalAfterSeq) {
        writeMarker(dir, { journalAfterSeq: repair && scan.records.length === 0 ? null : journalAfterSeq });
      }
      fd = fs.openSync(journalPath, 'a', 0o600);
      if (journalBytes === undefined) fsyncDirectory(dir);
      if (scan.ignoredBytes > 0) {
        fs.ftruncateSync(fd, scan.validBytes);
        fs.fsyncSync(fd);
        diagnostics.repairedTail = true;
        diagnostics.ignoredBytes = scan.ignoredBytes;
        diagnostics.warnings.push(
          scan.repairedLine !== undefined
            ? `repair: cut ${scan.ignoredBytes} bytes from the end of ${journalPath} (${scan.tailProblem}): ` +
                `the record on line ${scan.repairedLine} is lost; reconciliation releases the slices it held`
            : `cut ${scan.ignoredBytes} bytes from the end of ${journalPath} (${scan.tailProblem}): a crash ` +
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
        scan.validBytes,
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

  async recordIntent(intent: Intent): Promise<void> {
    await this.append(() => {
      const { value, json } = normalizedWithJson(intent, checkIntent, 'intent');
      return { op: 'intent', data: value, dataJson: json };
    });
  }

  async commit(allocation: StoredAllocation): Promise<void> {
    await this.append(() => {
      const { value, json } = normalizedWithJson(allocation, checkAllocation, 'allocation');
      return { op: 'commit', data: value, dataJson: json };
    });
  }

  async commitAll(allocations: readonly StoredAllocation[]): Promise<void> {
    await this.append(() => commitAllOf(allocations));
  }

  async update(allocation: StoredAllocation, options: WriteOptions = {}): Promise<void> {
    await this.append(
      () => ({ op: 'update', data: normalized(allocation, checkAllocation, 'allocation') }),
      options,
    );
  }

  async abortIntent(id: string, options: WriteOptions = {}): Promise<void> {
    await this.append(() => ({ op: 'abort', data: { id: normalized(id, checkId, 'id') } }), options);
  }

  async remove(id: string, options: WriteOptions = {}): Promise<void> {
    await this.append(() => ({ op: 'remove', data: { id: normalized(id, checkId, 'id') } }), options);
  }

  /** The seq of the durable record that last wrote `id` (store.ts, WriteOptions). */
  revisionOf(id: string): number | undefined {
    return this.revisions.of(id);
  }

  /** One writer: nothing to re-read. */
  async refresh(): Promise<StoreState> {
    return this.load();
  }

  /** Seq of the last durable record (0 when none was ever written). */
  get lastSeq(): number {
    return this.seq;
  }

  /** fsyncs of the journal made by appends since open (group commit makes this < the records written). */
  get journalFsyncs(): number {
    return this.fsyncCount;
  }

  health(): StoreHealth {
    if (this.closed) return { writable: false, problem: `the store in ${this.dir} is closed` };
    if (this.failure) {
      return {
        writable: false,
        problem:
          `a write to the store in ${this.dir} failed (${this.failure.message}); restart the server so it ` +
          'reopens the store and reconciles it with the adapters',
      };
    }
    if (this.diskFull) {
      const probe = probeWrite(this.dir);
      if (probe) {
        return {
          writable: false,
          problem: `the disk holding ${this.dir} is full (${probe.message}); free some space`,
        };
      }
      this.diskFull = undefined;
    }
    return { writable: true };
  }

  /**
   * Writes the whole state into snapshot.json and empties the journal. Runs by itself every
   * compactEveryRecords records; callable directly (tests, an operator's "compact now").
   */
  compact(): void {
    if (this.writer || this.compacting) {
      throw new StoreError(
        StoreCode.CONFLICT,
        'compaction asked for while writes are in flight: await them (or close()) first',
      );
    }
    this.compactNow();
  }

  /**
   * Compaction with blocking file calls, in its crash-safe order (the head of this file): compact() and
   * open() (finishing an interrupted one), with no write in flight.
   */
  private compactNow(): void {
    this.ensureWritable();
    const { dir, fd } = this;
    writeSnapshotTmp(dir, encodeSnapshot(this.seq, this.state));
    this.onCompactionStep?.('snapshot-written');
    renameSnapshotTmp(dir);
    this.onCompactionStep?.('snapshot-renamed');
    syncSnapshotDirectory(dir);
    this.onCompactionStep?.('directory-synced');
    try {
      truncateJournal(fd);
    } catch (err) {
      // The snapshot is installed; what the journal holds on disk is now unknown: refuse writes until
      // reopened (open skips the records the snapshot holds, and finishes the compaction).
      throw this.fail(err, 'truncating the journal after compaction');
    }
    this.journalRecords = 0;
    this.journalBytes = 0;
    this.nextCompactionAt = this.compactEveryRecords;
    this.onCompactionStep?.('journal-truncated');
  }

  /**
   * Starts the automatic compaction at the durable seq, in the writer right after a batch settled (so
   * no batch is half written to the new journal). The snapshot text is encoded now: the durable state
   * moves on while the compaction runs.
   */
  private startCompaction(): void {
    const afterSeq = this.seq;
    let rotation: JournalRotation;
    let text: string;
    try {
      text = encodeSnapshot(afterSeq, this.state);
      rotation = JournalRotation.start(this.dir, afterSeq);
    } catch (err) {
      this.compactionFailed(afterSeq, err as Error);
      return;
    }
    this.rotation = rotation;
    this.compacting = this.compactBeside(rotation, text).finally(() => {
      this.compacting = undefined;
    });
  }

  /** The automatic compaction's steps, beside the appends (rotation.ts); never rejects. */
  private async compactBeside(rotation: JournalRotation, text: string): Promise<void> {
    const { dir } = this;
    const step = async (name: CompactionStep) => {
      if (rotation.abandoned) throw rotation.abandoned; // a write to the new journal failed
      await this.onCompactionStep?.(name);
      if (rotation.abandoned) throw rotation.abandoned;
    };
    try {
      await writeSnapshotTmpAsync(dir, text);
      await step('snapshot-written');
      await renameSnapshotTmpAsync(dir);
      await step('snapshot-renamed');
      await syncSnapshotDirectoryAsync(dir);
      await step('directory-synced');
      // From here a failed write to the new journal is a failed write to the journal (it may be the
      // one on disk): the writer refuses the batch and the store stops, as after any failed fsync.
      rotation.renamed = true;
      try {
        await renameAsync(join(dir, JOURNAL_TMP_FILE), join(dir, JOURNAL_FILE));
      } catch (err) {
        rotation.renamed = false; // a rename that failed did not happen: the old journal holds all
        throw err;
      }
    } catch (err) {
      rotation.abandon(err as Error);
      this.retireRotation();
      await rotation.installed;
      this.compactionFailed(rotation.afterSeq, err as Error);
      return;
    }
    try {
      await fsyncDirectoryAsync(dir);
    } catch (err) {
      this.fail(err, 'installing the journal after compaction'); // which file the directory names is unknown
    }
    rotation.ready = true;
    this.retireRotation();
    await rotation.installed;
    try {
      await this.onCompactionStep?.('journal-truncated');
    } catch {
      // the compaction is done; a test's hook that throws here has nothing left to stop
    }
    // A journal that holds records says from which snapshot (marker.ts); an empty one is marked by the
    // writer before its first record, as after compact().
    if (rotation.records > 0) await this.markJournalInUse(rotation.afterSeq);
  }

  /** Switches to a ready new journal, or drops an abandoned one, unless a batch is in flight. */
  private retireRotation(): void {
    if (!this.writer) this.atBatchBoundary();
  }

  /** Between two batches (no write or fsync in flight on either file): see retireRotation. */
  private atBatchBoundary(): void {
    const rotation = this.rotation;
    if (!rotation || !(rotation.ready || rotation.abandoned)) return;
    this.rotation = undefined;
    if (!rotation.ready) {
      rotation.finish(undefined);
      return;
    }
    const old = this.fd;
    this.fd = rotation.fd;
    this.journalBytes = rotation.bytes;
    this.journalRecords = rotation.records;
    this.nextCompactionAt = this.compactEveryRecords;
    rotation.finish(old);
  }

  /** A failed automatic compaction loses nothing (the journal still holds every record): note it, go on. */
  private compactionFailed(seq: number, err: Error): void {
    this.nextCompactionAt = this.journalRecords + this.compactEveryRecords;
    this.diagnostics.warnings.push(
      `compaction at seq ${seq} failed (${err.message}); the journal still holds every ` +
        `record, compaction is retried after ${this.compactEveryRecords} more`,
    );
  }

  /** Resolves once no write is queued and no automatic compaction runs (tests, before reading the files). */
  async idle(): Promise<void> {
    while (this.writer || this.compacting) await (this.writer ?? this.compacting);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.idle();
    try {
      fs.closeSync(this.fd);
    } finally {
      this.lock.release();
    }
  }

  /** Queues the record; resolves once it is durable (see the group commit at the head of this file). */
  private append(build: () => WithJson<Operation>, options: WriteOptions = {}): Promise<number> {
    let operation: WithJson<Operation>;
    try {
      this.ensureWritable();
      operation = build();
      const expected = checkExpectedRevision(options.expectedRevision);
      checkApplicable(this.ahead, operation);
      this.aheadRevisions.check(operation, expected);
    } catch (err) {
      return Promise.reject(err);
    }
    applyOperation(this.ahead, operation);
    this.queuedSeq += 1;
    const seq = this.queuedSeq;
    this.aheadRevisions.apply(operation, seq);
    const line = Buffer.from(encodeRecord(seq, operation.op, operation.data, operation.dataJson), 'utf8');
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ seq, operation, line, resolve: () => resolve(seq), reject });
      if (!this.writer) this.writer = this.writeQueued();
    });
  }

  /**
   * One writer: each pass writes every queued line with one write() and one fsync. The writer is marked
   * idle before the last batch's callers resume, so they see a quiet store (compact(), close()).
   */
  private async writeQueued(): Promise<void> {
    // Let the writes issued in the same tick join the first batch.
    await Promise.resolve();
    for (;;) {
      this.atBatchBoundary();
      const settle = await this.writeBatch(this.queue.splice(0));
      if (this.queue.length === 0) {
        this.writer = undefined;
        this.atBatchBoundary();
      }
      settle();
      if (!this.writer) return;
    }
  }

  /** Writes and fsyncs one batch; returns what resolves (or rejects) its callers. */
  private async writeBatch(batch: Queued[]): Promise<() => void> {
    const first = batch[0]!;
    const last = batch[batch.length - 1]!;
    const what = `appending records ${first.seq}..${last.seq}`;
    const wasEmpty = this.journalBytes === 0;
    const bytes = Buffer.concat(batch.map((q) => q.line));
    // A compaction in progress: the batch goes to its new journal too (rotation.ts).
    const rotation = this.rotation?.abandoned ? undefined : this.rotation;
    try {
      writeAll(this.fd, bytes);
    } catch (err) {
      if (rotation?.renamed) return this.refuseQueued(batch, this.fail(err, what));
      return this.refuseQueued(batch, this.writeFailed(err as NodeJS.ErrnoException, what));
    }
    const rotationFailed = (err: Error) => {
      if (rotation?.renamed) throw err; // it may be the journal on disk now
      rotation?.abandon(err); // the old journal holds the batch; the compaction is given up
    };
    try {
      if (rotation) writeAll(rotation.fd, bytes);
    } catch (err) {
      try {
        rotationFailed(err as Error);
      } catch {
        return this.refuseQueued(batch, this.fail(err, what));
      }
    }
    try {
      await Promise.all([
        fsyncAsync(this.fd),
        rotation && !rotation.abandoned ? fsyncAsync(rotation.fd).catch(rotationFailed) : undefined,
      ]);
      this.fsyncCount += 1;
    } catch (err) {
      // After a failed fsync the kernel may have dropped the pages: what is on disk is unknown.
      this.failure = err as Error;
      return this.refuseQueued(batch, this.unavailable(err as Error, what));
    }
    for (const q of batch) {
      applyOperation(this.state, q.operation);
      this.revisions.apply(q.operation, q.seq);
      this.seq = q.seq;
      this.journalBytes += q.line.length;
      this.journalRecords += 1;
    }
    if (rotation && !rotation.abandoned) {
      rotation.bytes += bytes.length;
      rotation.records += batch.length;
    }
    this.diskFull = undefined;
    // Off the event loop, before this batch's callers resume (the marker says the journal holds records
    // before any caller relies on them); once per compaction cycle at most, and only after an idle one.
    if (wasEmpty) await this.markJournalInUse(first.seq - 1);
    if (this.journalRecords >= this.nextCompactionAt && !this.compacting && !this.failure)
      this.startCompaction();
    return () => {
      for (const q of batch) q.resolve();
    };
  }

  /**
   * The journal holds records now: say so in the marker, so that losing the journal is detected
   * (marker.ts). Written after the records' fsync, so a crash in between leaves a non-empty journal,
   * which open takes as it is (and marks). The records are durable either way: a failure here is noted.
   */
  private async markJournalInUse(afterSeq: number): Promise<void> {
    try {
      await writeMarkerAsync(this.dir, { journalAfterSeq: afterSeq });
    } catch (err) {
      this.diagnostics.warnings.push(
        `could not update ${join(this.dir, MARKER_FILE)} (${(err as Error).message}): a lost journal would ` +
          'not be detected until the next open rewrites it',
      );
    }
  }

  /**
   * A write failed part way: cut the journal back to its durable length. Then a full disk is a passing
   * condition (writes resume when there is space); anything else, or a failed cut, stops all writes.
   */
  private writeFailed(err: NodeJS.ErrnoException, what: string): StoreError {
    try {
      fs.ftruncateSync(this.fd, this.journalBytes);
      fs.fsyncSync(this.fd);
    } catch (cutErr) {
      this.failure = cutErr as Error;
      return this.unavailable(err, what);
    }
    if (err.code === 'ENOSPC' || err.code === 'EDQUOT') this.diskFull = err;
    else this.failure = err;
    return this.unavailable(err, what);
  }

  /** Rejects the failed batch and everything queued behind it (checked against records now refused). */
  private refuseQueued(batch: Queued[], err: StoreError): () => void {
    const refused = [...batch, ...this.queue.splice(0)];
    this.ahead = cloneState(this.state);
    this.aheadRevisions = this.revisions.clone();
    this.queuedSeq = this.seq;
    return () => {
      for (const q of refused) q.reject(err);
    };
  }

  private fail(err: unknown, what: string): StoreError {
    this.failure = err as Error;
    return this.unavailable(err as Error, what);
  }

  private unavailable(err: Error, what: string): StoreError {
    const full = this.diskFull !== undefined && this.failure === undefined;
    return new StoreError(
      StoreCode.UNAVAILABLE,
      `${what} in ${join(this.dir, JOURNAL_FILE)} failed (${err.message}): the operation did not happen. ` +
        (full
          ? 'The disk is full: free some space and retry.'
          : 'The store refuses further writes: restart the server (it reopens the store and reconciles it ' +
            'with the adapters).'),
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
        StoreCode.UNAVAILABLE,
        `an earlier write to the store in ${this.dir} failed (${this.failure.message}); it refuses writes ` +
          'until it is reopened: restart the server',
        { dir: this.dir },
      );
    }
  }
}

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Compaction's last step: the journal emptied, durably. */
function truncateJournal(fd: number): void {
  fs.ftruncateSync(fd, 0);
  fs.fsyncSync(fd);
}

/**
 * After a full disk: can a record-sized write be made durable now? Writes, fsyncs and removes a probe
 * file of PROBE_BYTES; returns the error when it cannot.
 */
function probeWrite(dir: string): Error | undefined {
  const path = join(dir, PROBE_FILE);
  try {
    writeFileDurably(path, 'x'.repeat(PROBE_BYTES));
    return undefined;
  } catch (err) {
    return err as Error;
  } finally {
    fs.rmSync(path, { force: true });
  }
}

/** The marker, rewritten when damaged and `repair` asks for it. */
function openMarker(dir: string, repair: boolean, warnings: string[]) {
  try {
    return readMarker(dir);
  } catch (err) {
    if (!repair) throw err;
    warnings.push(`repair: ${(err as Error).message.split('. ')[0]}; rewritten`);
    return undefined;
  }
}

/** An empty or missing journal is legitimate only if no record went into it since the newest snapshot. */
function checkJournalNotLost(
  dir: string,
  journalAfterSeq: number | null,
  snapshotSeq: number,
  journalBytes: Buffer | undefined,
  repair: boolean,
  diagnostics: StoreDiagnostics,
): void {
  if (journalAfterSeq === null || snapshotSeq > journalAfterSeq) return;
  const path = join(dir, JOURNAL_FILE);
  const found =
    journalBytes === undefined
      ? 'missing'
      : journalBytes.length === 0
        ? 'empty'
        : 'without a complete record';
  const problem =
    `${path} is ${found}, but ${join(dir, MARKER_FILE)} says records were written to it after seq ` +
    `${journalAfterSeq} (the snapshot ends at seq ${snapshotSeq})`;
  if (repair) {
    diagnostics.warnings.push(
      `repair: ${problem}; starting from the snapshot: allocations committed after seq ${snapshotSeq} are lost ` +
        'and reconciliation releases their slices',
    );
    return;
  }
  throw new StoreError(
    StoreCode.CORRUPT,
    `${problem}: acknowledged allocations would be lost. Restore the directory from a backup; or start ` +
      'with --repair to accept the loss (reconciliation then releases the slices no allocation holds).',
    { file: path, journalAfterSeq, snapshotSeq },
  );
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
