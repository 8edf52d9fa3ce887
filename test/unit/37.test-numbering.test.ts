// Test files are numbered by area (test/<area>/NN.name.test.ts): reading an area's list in order
// teaches it, and "test/grm/80" names one file. Two files of one folder sharing a number break both
// (three grm files were once all 80), so every folder under test/ is checked here.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '../..');

/** `folder NN: a, b` for every number that more than one numbered file of a folder uses. */
function sharedNumbers(folder: string, names: readonly string[]): string[] {
  const byNumber = new Map<string, string[]>();
  for (const name of names) {
    const n = /^(\d+)\./.exec(name)?.[1];
    if (n !== undefined) byNumber.set(n, [...(byNumber.get(n) ?? []), name]);
  }
  return [...byNumber]
    .filter(([, files]) => files.length > 1)
    .map(([n, files]) => `${folder} ${n}: ${[...files].sort().join(', ')}`);
}

/** Every folder under `dir` (itself included) with the names of the files it holds. */
function folders(dir: string): { folder: string; files: string[] }[] {
  const entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  return [
    { folder: dir, files: entries.filter((e) => e.isFile()).map((e) => e.name) },
    ...entries.filter((e) => e.isDirectory()).flatMap((e) => folders(`${dir}/${e.name}`)),
  ];
}

describe('test numbering', () => {
  it('finds files of one folder that share a number, and only those', () => {
    expect(
      sharedNumbers('test/grm', ['80.gang.test.ts', '80.quotas.test.ts', '81.classes.test.ts', 'helpers.ts']),
    ).toEqual(['test/grm 80: 80.gang.test.ts, 80.quotas.test.ts']);
    expect(sharedNumbers('test/grm', ['8.a.test.ts', '80.b.test.ts', '08.c.test.ts'])).toEqual([]);
  });

  it('no two test files in one folder under test/ share a number', () => {
    const shared = folders('test').flatMap(({ folder, files }) => sharedNumbers(folder, files));
    expect(shared, 'give each file a free number in its folder (git mv) and fix references to it').toEqual(
      [],
    );
  });
});
