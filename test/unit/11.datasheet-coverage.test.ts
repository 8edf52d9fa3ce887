// Every name in the register header is documented in the datasheet (docs/ra-spec.md).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const header = readFileSync(path.join(root, 'native/include/ra_regs.h'), 'utf8');
const spec = readFileSync(path.join(root, 'docs/ra-spec.md'), 'utf8');

const names = [...header.matchAll(/^#define\s+RA_([A-Z0-9_]+)\s+\S+/gm)]
  .map((m) => m[1]!)
  .filter((n) => n !== 'REGS_H');

describe('datasheet coverage', () => {
  it('finds the header names', () => {
    expect(names.length).toBeGreaterThan(150);
  });

  it('documents every register and constant of ra_regs.h', () => {
    const missing = names.filter((n) => !spec.includes(`\`${n}\``) && !spec.includes(`\`RA_${n}\``));
    expect(missing).toEqual([]);
  });

  // issue 13: owner keys are write-only; the datasheet says so where a key could be read back
  it('documents owner keys as write-only: the slice table row, the mailbox arguments, the descriptor', () => {
    const row = (name: string) => spec.split('\n').find((l) => l.startsWith(`| \`${name}\``)) ?? '';
    expect(row('SLICE_OWNER_KEY')).toMatch(/write-only: always reads 0/);
    expect(row('REG_CMD_ARG0')).toMatch(/\| WO \|/);
    expect(row('DESC_OWNER_KEY')).toMatch(/write-only/);
    expect(spec).toMatch(/\| WO \| written by the driver; .* reads 0 afterwards/);
  });
  // §7's table gives each QCB field's offset: it must be the header's (the QCB was re-laid out by writer)
  it("gives every queue control block field the header's offset (§7)", () => {
    const defined = new Map(
      [...header.matchAll(/^#define\s+RA_(QCB_[A-Z_]+)\s+(0x[0-9A-Fa-f]+)/gm)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
    const rows = [...spec.matchAll(/^\| `(QCB_[A-Z_]+)` \| `(0x[0-9A-Fa-f]+)` \|/gm)];
    expect(rows.map((m) => m[1]).sort()).toEqual(
      [...defined.keys()].filter((n) => n !== 'QCB_STRIDE' && n !== 'QCB_LINE_BYTES').sort(),
    );
    for (const [, name, off] of rows) expect([name, Number(off)]).toEqual([name, defined.get(name!)]);
    expect(spec).toContain(`\`QCB_STRIDE\` (\`0x${defined.get('QCB_STRIDE')!.toString(16).toUpperCase()}\`)`);
  });
});
