// Damage that a crash mid-append cannot explain — a bad record with records after it, a gap in the
// sequence, a record that contradicts the ones before it, a damaged snapshot — refuses the open with
// CORRUPT and a message naming the file, the line and what to do. Nothing is dropped or rewritten: the
// files are left exactly as they were, and the lock is released.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksum } from '../../src/store/checksum.js';
import { JournalStore, StoreCode, StoreError } from '../../src/store/index.js';
import { encodeRecord } from '../../src/store/journal.js';
import { allocation, crashImage, intent, journalOf, lineStarts, tempDir } from './helpers.js';

/** A closed store with five journal records (one per line), and its journal's lines. */
async function fiveRecords() {
  const dir = tempDir();
  const store = JournalStore.open(dir);
  await store.recordIntent(intent('a1'));
  await store.commit(allocation('a1'));
  await store.recordIntent(intent('a2'));
  await store.commit(allocation('a2'));
  await store.remove('a1');
  await store.close();
  const journal = journalOf(dir);
  const text = journal.toString('utf8');
  const lines = text
    .split('\n')
    .slice(0, -1)
    .map((l) => `${l}\n`);
  expect(lines).toHaveLength(5);
  return { dir, journal, lines, starts: lineStarts(journal) };
}

function refusal(dir: string): StoreError {
  const before = STORE_FILES_CONTENT(dir);
  let error: unknown;
  try {
    void JournalStore.open(dir).close(); // nothing in flight: closes at once
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(StoreError);
  expect((error as StoreError).code).toBe(StoreCode.CORRUPT);
  // Refusing changes no file and leaves no lock behind.
  expect(STORE_FILES_CONTENT(dir)).toEqual(before);
  expect(fs.existsSync(join(dir, 'lock'))).toBe(false);
  return error as StoreError;
}

function STORE_FILES_CONTENT(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(join(dir, f), 'latin1')]));
}

describe('corrupt journal records in the middle refuse the open', () => {
  it('a damaged line 2 of 5: the message names the file, the line, the byte and the way out', async () => {
    const { dir, journal, starts } = await fiveRecords();
    const damaged = Buffer.from(journal);
    const at = journal.indexOf('tenant-a', starts[1]);
    expect(at).toBeLessThan(starts[2]!);
    damaged[at] = damaged[at]! ^ 0x04;
    const image = crashImage(dir, damaged);
    const error = refusal(image);
    expect(error.message).toContain(join(image, 'journal.jsonl'));
    expect(error.message).toMatch(/line 2 \(byte \d+\) is damaged \(checksum mismatch\)/);
    expect(error.message).toContain('refuses to open rather than drop committed records');
    expect(error.message).toContain(`truncate -s ${starts[1]}`);
    expect(error.details).toMatchObject({ line: 2, offset: starts[1] });
  });

  it('every single-byte flip of every line but the last is refused', async () => {
    const { dir, journal, starts } = await fiveRecords();
    const lastStart = starts[starts.length - 2]!;
    for (let at = 0; at < lastStart; at += 7) {
      const damaged = Buffer.from(journal);
      damaged[at] = damaged[at]! ^ 0x01;
      // A flipped newline merges two lines; a damaged line followed by more lines is never a torn append.
      expect(() => JournalStore.open(crashImage(dir, damaged)), `byte ${at}`).toThrow(/line \d/);
    }
  });

  it('a blank line in the middle is refused', async () => {
    const { dir, lines } = await fiveRecords();
    const image = crashImage(dir, Buffer.from([lines[0], '\n', ...lines.slice(1)].join('')));
    expect(refusal(image).message).toMatch(/line 2 .*not valid JSON/);
  });

  it('a damaged last complete line followed by a torn tail (two damaged records) is refused', async () => {
    const { dir, lines } = await fiveRecords();
    const image = crashImage(dir, Buffer.from(`${lines.slice(0, 4).join('')}{"seq":5,"op":"rem\n{"seq":6`));
    expect(refusal(image).message).toMatch(/line 5 .*is damaged/);
  });

  it('a missing record (seq gap) is refused', async () => {
    const { dir, lines } = await fiveRecords();
    const image = crashImage(dir, Buffer.from([lines[0], lines[1], lines[3], lines[4]].join('')));
    expect(refusal(image).message).toMatch(/line 3 \(seq 4\): expected seq 3 after line 2/);
  });

  it('records out of order are refused', async () => {
    const { dir, lines } = await fiveRecords();
    const image = crashImage(dir, Buffer.from([lines[0], lines[2], lines[1], lines[3], lines[4]].join('')));
    expect(refusal(image).message).toMatch(/line 2 \(seq 3\): expected seq 2/);
  });

  it('a record with a valid checksum but an invalid payload is refused, even as the last line', async () => {
    const { dir, lines } = await fiveRecords();
    const bad = { ...allocation('a3'), ownerKey: 'not-hex' };
    for (const at of [2, 5]) {
      const records = [...lines.slice(0, 4), encodeRecord(5, 'commit', bad)];
      const image = crashImage(
        dir,
        Buffer.from(at === 2 ? [records[0], records[4]].join('') : records.join('')),
      );
      if (at === 2) {
        expect(refusal(image).message).toMatch(/expected seq 2/);
      } else {
        expect(refusal(image).message).toMatch(
          /line 5 \(seq 5\): invalid commit record: data\.ownerKey must be 16 hex/,
        );
      }
    }
  });

  it('a record that contradicts the ones before it is refused', async () => {
    const { dir, lines } = await fiveRecords();
    const image = crashImage(dir, Buffer.from([...lines, encodeRecord(6, 'remove', { id: 'a1' })].join('')));
    expect(refusal(image).message).toMatch(
      /line 6 \(seq 6\): contradicts the records before it: allocation a1 is not in the store/,
    );
  });

  it('a record with an unknown op or an extra field is damaged (refused in the middle)', async () => {
    const { dir, lines } = await fiveRecords();
    const data = { id: 'a1' };
    const crc = checksum(`2|destroy|${JSON.stringify(data)}`);
    const unknownOp = `${JSON.stringify({ seq: 2, op: 'destroy', data, crc })}\n`;
    const image = crashImage(dir, Buffer.from([lines[0], unknownOp, ...lines.slice(2)].join('')));
    expect(refusal(image).message).toMatch(/line 2 .*unknown op destroy/);
    const extra = lines[1]!.replace('{"seq"', '{"x":1,"seq"');
    const image2 = crashImage(dir, Buffer.from([lines[0], extra, ...lines.slice(2)].join('')));
    expect(refusal(image2).message).toMatch(/line 2 .*unknown fields x/);
  });
});

describe('snapshot problems refuse the open', () => {
  async function compacted() {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    await store.commit(allocation('a1'));
    await store.recordIntent(intent('a2'));
    store.compact();
    await store.commit(allocation('a3'));
    await store.close();
    return dir;
  }

  it('a damaged snapshot names the file and says not to delete it', async () => {
    const dir = await compacted();
    const path = join(dir, 'snapshot.json');
    const text = fs.readFileSync(path, 'utf8');
    fs.writeFileSync(path, text.replace('tenant-a', 'tenant-A'));
    const error = refusal(dir);
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/checksum mismatch.*Do not delete the file/s);
  });

  it.each([
    ['not JSON', () => '{"format":', /not valid JSON/],
    [
      'another format',
      (t: string) => t.replace('rafabric-allocation-snapshot', 'other'),
      /format is "other"/,
    ],
    [
      'a future version',
      (t: string) => t.replace('"version":1', '"version":2'),
      /version 2 is not supported/,
    ],
  ])('a snapshot that is %s is refused', async (_n, edit, message) => {
    const dir = await compacted();
    const path = join(dir, 'snapshot.json');
    fs.writeFileSync(path, edit(fs.readFileSync(path, 'utf8')));
    expect(refusal(dir).message).toMatch(message);
  });

  it('a snapshot with a valid checksum but an invalid allocation is refused, naming the field', async () => {
    const dir = await compacted();
    const path = join(dir, 'snapshot.json');
    const snap = JSON.parse(fs.readFileSync(path, 'utf8'));
    snap.allocations[0].resources[0].placements[0].slice = 'one';
    snap.crc = checksum(
      `${snap.seq}|${JSON.stringify({ allocations: snap.allocations, intents: snap.intents })}`,
    );
    fs.writeFileSync(path, JSON.stringify(snap));
    expect(refusal(dir).message).toMatch(
      /allocations\[0\]\.resources\[0\]\.placements\[0\]\.slice must be an integer/,
    );
  });

  it('a missing snapshot under a journal that starts after it is refused (records are missing)', async () => {
    const dir = await compacted();
    fs.unlinkSync(join(dir, 'snapshot.json'));
    expect(refusal(dir).message).toMatch(/records 1\.\.2 are missing \(is .*snapshot\.json missing\?\)/);
  });
});

// Regression (issue 8 item 7): an emptied or deleted journal used to open as an empty store, so the GRM
// scrubbed every slice as an orphan. The marker (store.json) says the journal held records.
describe('a lost journal refuses the open', () => {
  it.each([
    ['emptied', (p: string) => fs.writeFileSync(p, '')],
    ['deleted', (p: string) => fs.rmSync(p)],
    ['cut to a torn line', (p: string) => fs.writeFileSync(p, '{"seq":1,"op":"com')],
  ])(
    'a journal %s while records followed the snapshot: CORRUPT; repair opens from the snapshot',
    async (_how, damage) => {
      const { dir } = await fiveRecords();
      damage(join(dir, 'journal.jsonl'));
      expect(refusal(dir).message).toMatch(
        /journal\.jsonl is .*store\.json says records were written to it after seq 0.*--repair/,
      );
      const repaired = JournalStore.open(dir, { repair: true });
      expect(repaired.load().allocations.size).toBe(0);
      expect(repaired.load().diagnostics.warnings.join('\n')).toMatch(/repair: .*journal\.jsonl is/);
      await repaired.commit(allocation('after-repair'));
      await repaired.close();
      const again = JournalStore.open(dir);
      expect([...again.load().allocations.keys()]).toEqual(['after-repair']);
      await again.close();
    },
  );

  it('an empty journal after a compaction is no loss (the snapshot is newer than the marker)', async () => {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    await store.commit(allocation('a1'));
    store.compact();
    await store.close();
    expect(fs.statSync(join(dir, 'journal.jsonl')).size).toBe(0);
    const again = JournalStore.open(dir);
    expect([...again.load().allocations.keys()]).toEqual(['a1']);
    await again.close();
  });

  it('a store written before the marker existed opens and gets one (noted)', async () => {
    const { dir } = await fiveRecords();
    fs.rmSync(join(dir, 'store.json'));
    const store = JournalStore.open(dir);
    expect(store.load().allocations.size).toBe(1);
    expect(store.load().diagnostics.warnings.join('\n')).toMatch(/created .*store\.json/);
    await store.close();
    expect(JSON.parse(fs.readFileSync(join(dir, 'store.json'), 'utf8')).journalAfterSeq).toBe(0);
  });

  it('a damaged marker is refused; repair rewrites it', async () => {
    const { dir } = await fiveRecords();
    fs.writeFileSync(join(dir, 'store.json'), '{"format":"x"');
    expect(refusal(dir).message).toMatch(/store\.json is damaged/);
    const repaired = JournalStore.open(dir, { repair: true });
    expect(repaired.load().allocations.size).toBe(1);
    await repaired.close();
  });
});
