// Compaction (snapshot.json.tmp written + fsync, renamed over snapshot.json, directory fsync'd, journal
// truncated) interrupted at each step: reopening gives the same state. Two ways: the steps performed by
// hand on a copy of a store directory (including a half-written tmp file), and the store's own compaction
// code stopped or copied at each step through its onCompactionStep hook.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CompactionStep, JournalStore } from '../../src/store/index.js';
import {
  encodeSnapshot,
  renameSnapshotTmp,
  SNAPSHOT_TMP_FILE,
  syncSnapshotDirectory,
  writeSnapshotTmp,
} from '../../src/store/snapshot.js';
import { allocation, crashImage, intent, Model, Prng, plain, randomOp, runOn, tempDir } from './helpers.js';

/** A closed store with an older snapshot and journal records after it. */
async function storeWithHistory() {
  const dir = tempDir();
  const store = JournalStore.open(dir);
  await store.commit(allocation('old-1'));
  await store.recordIntent(intent('old-2'));
  store.compact();
  await store.commit(allocation('a1'));
  await store.recordIntent(intent('a2'));
  await store.update(allocation('old-1', { state: 'lost' }));
  await store.abortIntent('old-2');
  const state = store.load();
  const seq = store.lastSeq;
  await store.close();
  return { dir, state, seq };
}

const size = (path: string) => fs.statSync(path).size;

describe('compaction interrupted between its steps (performed by hand)', () => {
  const steps: [string, (image: string, snapshot: string) => void, RegExp | undefined][] = [
    [
      'tmp half-written',
      (image, text) => fs.writeFileSync(join(image, SNAPSHOT_TMP_FILE), text.slice(0, text.length / 2)),
      /removed .*snapshot\.json\.tmp/,
    ],
    [
      "tmp written and fsync'd, not renamed",
      (image, text) => writeSnapshotTmp(image, text),
      /removed .*snapshot\.json\.tmp/,
    ],
    [
      "renamed, directory not fsync'd",
      (image, text) => {
        writeSnapshotTmp(image, text);
        renameSnapshotTmp(image);
      },
      /finished an interrupted compaction: 4 journal records/,
    ],
    [
      "renamed and directory fsync'd, journal not truncated",
      (image, text) => {
        writeSnapshotTmp(image, text);
        renameSnapshotTmp(image);
        syncSnapshotDirectory(image);
      },
      /finished an interrupted compaction/,
    ],
    [
      'journal truncated (complete)',
      (image, text) => {
        writeSnapshotTmp(image, text);
        renameSnapshotTmp(image);
        syncSnapshotDirectory(image);
        fs.truncateSync(join(image, 'journal.jsonl'), 0);
      },
      undefined,
    ],
  ];

  it.each(steps)('%s: reopen gives the same state and appends go on', async (_step, perform, warning) => {
    const { dir, state, seq } = await storeWithHistory();
    const image = crashImage(dir);
    perform(image, encodeSnapshot(seq, state));
    const store = JournalStore.open(image);
    expect(plain(store.load())).toEqual(plain(state));
    expect(store.lastSeq).toBe(seq);
    const warnings = store.load().diagnostics.warnings.join('\n');
    if (warning) expect(warnings).toMatch(warning);
    else expect(warnings).toBe('');
    expect(fs.existsSync(join(image, SNAPSHOT_TMP_FILE))).toBe(false);
    // An interrupted compaction found past its rename is finished on open: the journal is emptied.
    if (warning?.source.includes('finished')) expect(size(join(image, 'journal.jsonl'))).toBe(0);
    await store.commit(allocation('after'));
    await store.close();
    const again = JournalStore.open(image);
    expect(plain(again.load()).allocations).toEqual({
      ...plain(state).allocations,
      after: allocation('after'),
    });
    expect(again.lastSeq).toBe(seq + 1);
    await again.close();
  });

  it('a snapshot installed but the journal not truncated, then more records: replay skips only the old ones', async () => {
    const { dir, state, seq } = await storeWithHistory();
    const image = crashImage(dir);
    writeSnapshotTmp(image, encodeSnapshot(seq, state));
    renameSnapshotTmp(image);
    // The records a writer appended after the rename (as the store does when its truncate step fails).
    const writer = JournalStore.open(crashImage(dir));
    await writer.commit(allocation('a2'));
    await writer.remove('a1');
    const expected = plain(writer.load());
    await writer.close();
    fs.copyFileSync(join(writer.dir, 'journal.jsonl'), join(image, 'journal.jsonl'));
    const store = JournalStore.open(image);
    expect(plain(store.load())).toEqual(expected);
    expect(store.lastSeq).toBe(seq + 2);
    await store.close();
  });
});

describe("the store's own compaction, at each step", () => {
  it('a crash image copied at every step of every compaction reopens to the state of that moment', async () => {
    const dir = tempDir();
    const images: { step: CompactionStep; image: string; expected: ReturnType<typeof plain>; seq: number }[] =
      [];
    let store: JournalStore | undefined;
    const onCompactionStep = (step: CompactionStep) => {
      images.push({ step, image: crashImage(dir), expected: plain(store!.load()), seq: store!.lastSeq });
    };
    store = JournalStore.open(dir, { compactEveryRecords: 4, onCompactionStep });
    const rng = new Prng(7);
    const model = new Model();
    for (let i = 0; i < 60; i++) {
      const op = randomOp(rng, model);
      expect(await runOn(store, op)).toBe(model.apply(op));
      // The compaction runs beside the appends: one at a time here, so each image has a known state
      // (the test below crashes it with writes in flight).
      await store.idle();
    }
    await store.close();
    const steps = new Set(images.map((i) => i.step));
    expect([...steps].sort()).toEqual([
      'directory-synced',
      'journal-truncated',
      'snapshot-renamed',
      'snapshot-written',
    ]);
    expect(images.length).toBeGreaterThan(20);
    for (const { step, image, expected, seq } of images) {
      const reopened = JournalStore.open(image);
      expect(plain(reopened.load()), `image after ${step} at seq ${seq}`).toEqual(expected);
      expect(reopened.lastSeq).toBe(seq);
      await reopened.close();
    }
  });

  it.each(['snapshot-written', 'snapshot-renamed', 'directory-synced'] as const)(
    'a compaction that fails after %s loses nothing: the operation succeeds, writes go on',
    async (failAt) => {
      const dir = tempDir();
      let failing = true;
      const store = JournalStore.open(dir, {
        compactEveryRecords: 3,
        onCompactionStep: (step) => {
          if (failing && step === failAt) throw new Error(`disk trouble after ${step}`);
        },
      });
      await store.commit(allocation('a1'));
      await store.recordIntent(intent('a2'));
      await store.commit(allocation('a2')); // third record: compaction runs and fails
      await store.idle();
      expect(store.load().diagnostics.warnings.join('\n')).toMatch(
        new RegExp(`compaction at seq 3 failed \\(disk trouble after ${failAt}\\)`),
      );
      await store.remove('a1');
      await store.commit(allocation('a3'));
      failing = false;
      await store.commit(allocation('a4')); // retried after three more records: succeeds
      await store.idle();
      expect(fs.statSync(join(dir, 'journal.jsonl')).size).toBe(0);
      const expected = plain(store.load());
      await store.close();
      const again = JournalStore.open(dir);
      expect(plain(again.load())).toEqual(expected);
      expect(again.lastSeq).toBe(6);
      await again.close();
    },
  );

  it('compacts by itself every compactEveryRecords records: the journal empties, the snapshot holds all', async () => {
    const dir = tempDir();
    const store = JournalStore.open(dir, { compactEveryRecords: 5 });
    for (let i = 0; i < 4; i++) await store.commit(allocation(`a${i}`));
    expect(size(join(dir, 'journal.jsonl'))).toBeGreaterThan(0);
    expect(fs.existsSync(join(dir, 'snapshot.json'))).toBe(false);
    await store.commit(allocation('a4'));
    await store.idle();
    expect(size(join(dir, 'journal.jsonl'))).toBe(0);
    expect(JSON.parse(fs.readFileSync(join(dir, 'snapshot.json'), 'utf8')).seq).toBe(5);
    await store.commit(allocation('a5'));
    const expected = plain(store.load());
    await store.close();
    const again = JournalStore.open(dir);
    expect(plain(again.load())).toEqual(expected);
    await again.close();
  });
});

describe('the automatic compaction runs beside the appends', () => {
  // Its fsyncs (snapshot, directory, journal, marker) used to stop the writer, so every commit queued
  // meanwhile waited for them: the tail of the end-to-end latency (issue 11). Now the writer writes each
  // batch to the old journal and the new one while the compaction runs (rotation.ts).
  it('callbacks queued at a step run before the next step; a commit during it is durable in the new journal', async () => {
    const dir = tempDir();
    const turnsBetween: boolean[] = [];
    let turned = false;
    let store: JournalStore | undefined;
    let queued: Promise<void> | undefined;
    store = JournalStore.open(dir, {
      compactEveryRecords: 3,
      onCompactionStep: (step) => {
        if (step !== 'snapshot-written') turnsBetween.push(turned);
        turned = false;
        setImmediate(() => {
          turned = true;
        });
        if (step === 'snapshot-written') queued ??= store!.commit(allocation('during'));
      },
    });
    await store.commit(allocation('a1'));
    await store.commit(allocation('a2'));
    await store.commit(allocation('a3')); // third record: compaction
    await store.idle();
    expect(turnsBetween).toEqual([true, true, true]);
    await queued;
    expect(fs.readFileSync(join(dir, 'journal.jsonl'), 'utf8')).toMatch(/"id":"during"/);
    expect(fs.existsSync(join(dir, 'journal.jsonl.tmp'))).toBe(false);
    const expected = plain(store.load());
    await store.close();
    const again = JournalStore.open(dir);
    expect(plain(again.load())).toEqual(expected);
    expect(Object.keys(expected.allocations).sort()).toEqual(['a1', 'a2', 'a3', 'during']);
    await again.close();
  });

  it('a commit made while the compaction runs is acknowledged before the compaction ends', async () => {
    const dir = tempDir();
    const order: string[] = [];
    let store: JournalStore | undefined;
    store = JournalStore.open(dir, {
      compactEveryRecords: 3,
      // The compaction waits here until the commit is acknowledged: it must not wait for the compaction.
      onCompactionStep: (step) => {
        if (step === 'journal-truncated') order.push('compacted');
        if (step !== 'snapshot-written') return undefined;
        return store!.commit(allocation('during')).then(() => {
          order.push('during acknowledged');
        });
      },
    });
    for (const id of ['a1', 'a2', 'a3']) await store.commit(allocation(id));
    await store.idle();
    expect(order).toEqual(['during acknowledged', 'compacted']);
    await store.close();
    const again = JournalStore.open(dir);
    expect([...again.load().allocations.keys()].sort()).toEqual(['a1', 'a2', 'a3', 'during']);
    await again.close();
  });

  it('a crash image copied at each step with 32 writers in flight holds every acknowledged commit', async () => {
    const dir = tempDir();
    const acknowledged = new Set<string>();
    const issued = new Set<string>();
    const images: { step: CompactionStep; image: string; acknowledged: string[] }[] = [];
    const store = JournalStore.open(dir, {
      compactEveryRecords: 40,
      onCompactionStep: (step) => {
        images.push({ step, image: crashImage(dir), acknowledged: [...acknowledged] });
      },
    });
    await Promise.all(
      Array.from({ length: 32 }, async (_, w) => {
        for (let i = 0; i < 12; i++) {
          const id = `w${w}-${i}`;
          issued.add(id);
          await store.commit(allocation(id));
          acknowledged.add(id);
        }
      }),
    );
    await store.idle();
    await store.close();
    expect(new Set(images.map((i) => i.step)).size).toBe(4);
    for (const { step, image, acknowledged: acked } of images) {
      const reopened = JournalStore.open(image);
      const ids = [...reopened.load().allocations.keys()];
      for (const id of acked) expect(ids, `image after ${step}`).toContain(id);
      for (const id of ids) expect(issued.has(id), `image after ${step}: ${id}`).toBe(true);
      expect(fs.existsSync(join(image, 'journal.jsonl.tmp'))).toBe(false); // removed on open
      await reopened.close();
    }
    const again = JournalStore.open(dir);
    expect(again.load().allocations.size).toBe(32 * 12);
    await again.close();
  });
});
