// Compaction beside the appends: the journal that replaces journal.jsonl once the snapshot is installed.
// The automatic compaction used to stop the writer for its five fsyncs (snapshot, directory, journal
// truncation, marker), so every commit queued behind it waited: under 64 concurrent clients that was
// the tail of the end-to-end latency (issue 11). Now, at a batch boundary at seq S, the writer opens
// journal.jsonl.tmp and from then on writes every batch to both files, acknowledging a record once
// both hold it durably; meanwhile the snapshot of S is written, renamed and its directory fsync'd, then
// journal.jsonl.tmp (records after S only) is renamed over journal.jsonl and the directory fsync'd;
// the writer then drops the old file at its next batch boundary. A crash at any point leaves a
// snapshot and a journal.jsonl that together hold every acknowledged record: before the journal's
// rename, the old journal holds them all (replay skips those the snapshot holds); after it, the new
// one holds every record after the snapshot, which was durable before the rename began.
import * as fs from 'node:fs';
import { join } from 'node:path';

export const JOURNAL_TMP_FILE = 'journal.jsonl.tmp';

export class JournalRotation {
  /** Bytes and records written to the new file (durable once the batch that wrote them settled). */
  bytes = 0;
  records = 0;
  /** journal.jsonl.tmp has been renamed over journal.jsonl: from now on it is the journal. */
  renamed = false;
  /** The rename is durable: the writer switches to this file at its next batch boundary. */
  ready = false;
  /** Why the rotation was given up before its rename; the old journal still holds every record. */
  abandoned: Error | undefined;
  private onInstalled!: () => void;
  /** Resolves when the writer has switched to the new file (or dropped it). */
  readonly installed = new Promise<void>((resolve) => {
    this.onInstalled = resolve;
  });

  private constructor(
    readonly dir: string,
    readonly fd: number,
    /** The seq of the snapshot the new journal continues from. */
    readonly afterSeq: number,
  ) {}

  /** Opens (emptying) journal.jsonl.tmp: call at a batch boundary, so no batch is half in it. */
  static start(dir: string, afterSeq: number): JournalRotation {
    return new JournalRotation(dir, fs.openSync(join(dir, JOURNAL_TMP_FILE), 'w', 0o600), afterSeq);
  }

  /** Gives the rotation up (only before its rename: after it, the new file is the journal). */
  abandon(err: Error): void {
    this.abandoned ??= err;
  }

  /**
   * Called by the writer between batches (no write or fsync in flight on either file): closes the file
   * the store no longer writes, removes an abandoned journal.jsonl.tmp, and says it is done.
   */
  finish(oldFd: number | undefined): void {
    // Off the event loop: the old journal was renamed over, so this is its inode's last reference and
    // closing it frees every block of the file (ext4: ~6 ms for a compaction cycle's journal, measured
    // on serve's main thread at 64 clients). Its records are durable in both files already; a close
    // error changes nothing the store relies on.
    if (oldFd !== undefined) fs.close(oldFd, () => undefined);
    if (this.abandoned) {
      fs.closeSync(this.fd);
      if (!this.renamed) fs.rmSync(join(this.dir, JOURNAL_TMP_FILE), { force: true });
    }
    this.onInstalled();
  }
}

/** A journal.jsonl.tmp left by a compaction interrupted before its rename holds nothing the journal lacks. */
export function removeUnfinishedJournal(dir: string, warnings: string[]): void {
  const path = join(dir, JOURNAL_TMP_FILE);
  if (!fs.existsSync(path)) return;
  fs.unlinkSync(path);
  warnings.push(`removed ${path}: a compaction was interrupted before its new journal was installed`);
}
