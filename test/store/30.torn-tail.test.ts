// A crash mid-append leaves the last journal record cut short or damaged. These tests build the disk image
// such a crash leaves — the journal cut at EVERY byte offset inside its last record, the last record's
// bytes flipped one at a time, or replaced by zeros — and reopen it: the state must equal the state before
// that record (it was never acknowledged) or, only for the intact record, after it; never anything else.
// The repair must be durable (the file is truncated) and the store must go on appending after it.
// (A cut needs no newline to be torn: a record is acknowledged only after its whole line is fsync'd.)
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalStore, MemoryStore } from '../../src/store/index.js';
import {
  allocation,
  crashImage,
  intent,
  journalOf,
  lineStarts,
  type ModelOp,
  plain,
  runOn,
  tempDir,
} from './helpers.js';

const history: ModelOp[] = [
  { op: 'recordIntent', intent: intent('a1') },
  { op: 'commit', allocation: allocation('a1') },
  { op: 'recordIntent', intent: intent('a2', { tenant: 'ténant-ü-✓' }) },
];

const lastOps: [string, ModelOp][] = [
  ['recordIntent', { op: 'recordIntent', intent: intent('a3') }],
  [
    'commit (multi-byte UTF-8 tenant)',
    { op: 'commit', allocation: allocation('a2', { tenant: 'ténant-ü-✓' }) },
  ],
  ['update', { op: 'update', allocation: allocation('a1', { state: 'lost' }) }],
  ['abortIntent', { op: 'abortIntent', id: 'a2' }],
  ['remove', { op: 'remove', id: 'a1' }],
];

async function stateAfter(ops: ModelOp[]) {
  const memory = new MemoryStore();
  for (const op of ops) expect(await runOn(memory, op)).toBe('ok');
  return plain(memory.load());
}

/** A closed store whose journal ends with `last`, and where that record starts. */
async function journalEndingWith(last: ModelOp, compactFirst = false) {
  const dir = tempDir();
  const store = JournalStore.open(dir);
  for (const op of history) expect(await runOn(store, op)).toBe('ok');
  if (compactFirst) store.compact();
  // The marker as a crash during the last append leaves it (it is rewritten only after a durable append).
  const markerBefore = fs.readFileSync(join(dir, 'store.json'));
  expect(await runOn(store, last)).toBe('ok');
  await store.close();
  const journal = journalOf(dir);
  const starts = lineStarts(journal);
  const lastStart = starts[starts.length - 2]!;
  return { dir, journal, lastStart, markerBefore };
}

function reopen(image: string) {
  const store = JournalStore.open(image);
  const state = store.load();
  return { store, state };
}

describe.each([
  ['journal only', false],
  ['after a snapshot', true],
])('torn last record (%s)', (_where, compactFirst) => {
  it.each(lastOps)(
    'last record %s: cut at every byte offset gives before or after, nothing else',
    async (_n, last) => {
      const before = await stateAfter(history);
      const after = await stateAfter([...history, last]);
      const { dir, journal, lastStart, markerBefore } = await journalEndingWith(last, compactFirst);
      expect(journal.length - lastStart).toBeGreaterThan(40);
      for (let cut = lastStart; cut <= journal.length; cut++) {
        const image = crashImage(dir, journal.subarray(0, cut));
        if (cut < journal.length) fs.writeFileSync(join(image, 'store.json'), markerBefore);
        const { store, state } = reopen(image);
        const intact = cut === journal.length;
        expect(plain(state), `cut at ${cut}`).toEqual(intact ? after : before);
        expect(state.diagnostics.repairedTail, `cut at ${cut}`).toBe(cut > lastStart && !intact);
        expect(state.diagnostics.ignoredBytes).toBe(intact ? 0 : cut - lastStart);
        // The repair is durable: the damaged bytes are gone from the file.
        expect(fs.statSync(join(image, 'journal.jsonl')).size).toBe(intact ? journal.length : lastStart);
        // Appends continue after the repair, and a reopen replays them after the repaired prefix.
        await store.commit(allocation('after-crash'));
        await store.close();
        const again = JournalStore.open(image);
        const expected = intact ? after : before;
        expect(plain(again.load()).allocations).toEqual({
          ...expected.allocations,
          'after-crash': allocation('after-crash'),
        });
        expect(again.load().diagnostics.repairedTail).toBe(false);
        await again.close();
        fs.rmSync(image, { recursive: true });
      }
    },
  );
});

describe('damaged last record', () => {
  it('a flipped newline makes the last line torn: the state before it', async () => {
    const { dir, journal } = await journalEndingWith(lastOps[1]![1]);
    const damaged = Buffer.from(journal);
    damaged[damaged.length - 1] = 0x0b;
    const { store, state } = reopen(crashImage(dir, damaged));
    expect(plain(state)).toEqual(await stateAfter(history));
    expect(state.diagnostics.repairedTail).toBe(true);
    expect(state.diagnostics.warnings.join('\n')).toMatch(/cut \d+ bytes from the end of .*journal\.jsonl/);
    await store.close();
  });

  // Regression (issue 8 item 7): a complete last line with a flipped byte was cut as a "torn tail", so
  // an acknowledged allocation vanished; only a line without its newline is a torn append.
  it('every other single-byte flip in the last complete line is refused (CORRUPT); --repair cuts it', async () => {
    const last = lastOps[1]![1];
    const before = await stateAfter(history);
    const { dir, journal, lastStart } = await journalEndingWith(last);
    for (let at = lastStart; at < journal.length - 1; at++) {
      const damaged = Buffer.from(journal);
      damaged[at] = damaged[at]! ^ 0x01;
      const image = crashImage(dir, damaged);
      expect(() => JournalStore.open(image), `byte ${at} flipped`).toThrow(
        /line 4 \(byte \d+\), the last, is complete but damaged .*--repair/,
      );
      expect(journalOf(image).equals(damaged), 'a refused open rewrites nothing').toBe(true);
      const repaired = JournalStore.open(image, { repair: true });
      expect(plain(repaired.load()), `byte ${at} flipped, repaired`).toEqual(before);
      expect(repaired.load().diagnostics.warnings.join('\n')).toMatch(
        /repair: cut \d+ bytes .*line 4 is lost/,
      );
      await repaired.close();
      fs.rmSync(image, { recursive: true });
    }
  });

  it.each([
    ['with its newline', 0],
    ['without its newline', 1],
  ])(
    'a last record replaced by zeros %s (file extended, data never written) gives the state before it',
    async (_n, less) => {
      const { dir, journal, lastStart } = await journalEndingWith(lastOps[0]![1]);
      const zeroed = Buffer.concat([
        journal.subarray(0, lastStart),
        Buffer.alloc(journal.length - lastStart - less),
      ]);
      zeroed[zeroed.length - 1] = less ? 0 : 0x0a;
      const { store, state } = reopen(crashImage(dir, zeroed));
      expect(plain(state)).toEqual(await stateAfter(history));
      expect(state.diagnostics.ignoredBytes).toBe(zeroed.length - lastStart);
      await store.close();
    },
  );

  it('an empty journal file (crash right after creating it) opens empty', async () => {
    const image = tempDir();
    fs.writeFileSync(join(image, 'journal.jsonl'), '');
    const { store, state } = reopen(image);
    expect(plain(state)).toEqual({ allocations: {}, intents: {} });
    await store.close();
  });
});

describe('a torn commit-all (a gang, issue 15)', () => {
  it('cut at every byte: none of the gang is committed, the intents stay; intact: all are', async () => {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    const ids = ['g1', 'g2', 'g3'];
    for (const id of ids) await store.recordIntent(intent(id));
    const before = plain(store.load());
    await store.commitAll(ids.map((id) => allocation(id)));
    const after = plain(store.load());
    await store.close();
    const journal = journalOf(dir);
    const starts = lineStarts(journal);
    const lastStart = starts[starts.length - 2]!;
    expect(journal.subarray(lastStart).toString()).toContain('"op":"commit-all"');
    // Every 5th byte and the last 8 (the line is about 1.5 KB; each reopen costs a store open).
    const cuts = [...Array(journal.length - lastStart).keys()].map((k) => lastStart + k);
    for (const cut of cuts.filter((c) => (c - lastStart) % 5 === 0 || c >= journal.length - 8)) {
      const image = crashImage(dir, journal.subarray(0, cut));
      const reopened = JournalStore.open(image);
      expect(plain(reopened.load()), `cut at ${cut}`).toEqual(before);
      await reopened.close();
      fs.rmSync(image, { recursive: true, force: true });
    }
    const intact = JournalStore.open(crashImage(dir, journal));
    expect(plain(intact.load())).toEqual(after);
    expect([...intact.load().allocations.keys()].sort()).toEqual(ids);
    await intact.close();
  });

  it('refuses the whole gang when one member cannot commit, and changes nothing', async () => {
    for (const store of [JournalStore.open(tempDir()), new MemoryStore()]) {
      await store.commit(allocation('taken'));
      await store.recordIntent(intent('n1'));
      const before = plain(store.load());
      await expect(store.commitAll([allocation('n1'), allocation('taken')])).rejects.toThrow(
        /already committed/,
      );
      await expect(store.commitAll([])).rejects.toThrow(/at least one allocation/);
      expect(plain(store.load())).toEqual(before);
      await store.close();
    }
  });
});
