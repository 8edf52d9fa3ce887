// Operator-defined request classes (serve --request-classes, docs/grm.md "Classes"): a class file is
// checked whole at start, and every mistake names the class, the field and, in a selector, the character.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRequestClasses, requestClassesOf } from '../../src/grm/request-classes.js';

describe('request classes', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'classes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a valid file: classes by name, with their selectors', () => {
    const file = path.join(dir, 'ok.json');
    writeFileSync(
      file,
      JSON.stringify({
        classes: [
          {
            name: 'zone-a-aes',
            description: 'AES in zone a',
            selector: 'zone == "a" && "aes-256-gcm" in functions',
          },
          { name: 'big-memory', selector: 'largestFreeMemoryBytes >= 4294967296' },
        ],
      }),
    );
    const classes = loadRequestClasses(file);
    expect([...classes.keys()]).toEqual(['zone-a-aes', 'big-memory']);
    expect(classes.get('big-memory')!.selector).toBe('largestFreeMemoryBytes >= 4294967296');
  });

  const refused: [string, unknown, RegExp][] = [
    ['not an object', [], /must be a JSON object|classes/],
    ['an unknown field', { classes: [{ name: 'x', selector: 'true', owner: 'me' }] }, /owner/],
    [
      'a name with capitals',
      { classes: [{ name: 'Big', selector: 'true' }] },
      /classes\[0\]\.name must be 1 to 64 of a-z 0-9/,
    ],
    [
      'a name defined twice',
      {
        classes: [
          { name: 'x', selector: 'true' },
          { name: 'x', selector: 'false' },
        ],
      },
      /classes\[1\]: class x is defined twice/,
    ],
    [
      'a selector that does not compile',
      {
        classes: [
          { name: 'x', selector: 'true' },
          { name: 'y', selector: 'zone == 1' },
        ],
      },
      /classes\[1\]\.selector: at character 8: == compares values of one type/,
    ],
    ['no selector', { classes: [{ name: 'x' }] }, /selector/],
  ];
  for (const [what, data, message] of refused)
    it(`refuses ${what}`, () => expect(() => requestClassesOf(data, 'classes.json')).toThrow(message));

  it('refuses a file that is not JSON, or that cannot be read, naming it', () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, '{"classes": [');
    expect(() => loadRequestClasses(file)).toThrow(new RegExp(`${file} is not JSON`));
    expect(() => loadRequestClasses(path.join(dir, 'absent.json'))).toThrow(
      /cannot read request classes from/,
    );
  });
});
