// Issue 9 item 1: error codes are the constants of src/common/codes.ts, never string literals. A
// literal code escapes the checks on the code sets (30.error-codes: mapped, disjoint) and a typo in one
// matches nothing. Scans every source file for an error built with a literal code and for a RaError
// code compared with a literal (Node's errno codes such as ENOENT are not ours and are allowed).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeSetsByOwner } from '../../src/common/codes.js';

const root = path.join(import.meta.dirname, '../..');
const ourCodes = new Set(Object.values(codeSetsByOwner).flatMap((set) => Object.values(set) as string[]));

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  );
}

/** `file:line: text` of every literal code in `text`. */
function literalCodes(file: string, text: string): string[] {
  const found: string[] = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  // new RaError('X', ...), new RvlError(\n 'X', ...): a code given as a string.
  for (const m of text.matchAll(/new \w*Error\(\s*['"`]([A-Z][A-Z0-9_]*)['"`]/g))
    found.push(`${file}:${lineOf(m.index)}: new ...Error('${m[1]}')`);
  // err.code === 'OVERLAP': one of our codes matched by its string.
  for (const m of text.matchAll(/\.code\s*[!=]==?\s*['"]([A-Z][A-Z0-9_]*)['"]/g))
    if (ourCodes.has(m[1]!)) found.push(`${file}:${lineOf(m.index)}: code === '${m[1]}'`);
  return found;
}

describe('error codes in the source', () => {
  it('no error is made with, and no code is compared to, a string literal', () => {
    const files = sourceFiles('src');
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((f) => literalCodes(f, readFileSync(path.join(root, f), 'utf8')));
    expect(found).toEqual([]);
  });

  it('the scan finds the forms it looks for (so the check above can fail)', () => {
    const sample = [
      "throw new RaError('UNREACHABLE', 'cannot reach');",
      'throw new RvlError(\n  "INVALID_REQUEST",\n  "bad");',
      "if (e.code === 'OVERLAP') retry();",
      "if (err.code === 'ENOENT') return undefined;",
      'throw new RaError(CliCode.USAGE, "fine");',
    ].join('\n');
    expect(literalCodes('x.ts', sample)).toEqual([
      "x.ts:1: new ...Error('UNREACHABLE')",
      "x.ts:2: new ...Error('INVALID_REQUEST')",
      "x.ts:5: code === 'OVERLAP'",
    ]);
  });
});
