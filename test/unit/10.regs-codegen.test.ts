// The register map has one source (native/include/ra_regs.h); src/driver/regs.ts is generated.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bar, Reg, Slice } from '../../src/driver/regs.js';

const root = path.resolve(import.meta.dirname, '../..');
const gen = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'scripts/gen-regs.mjs'), ...args], { encoding: 'utf8' });

describe('register map codegen', () => {
  it('the committed src/driver/regs.ts matches ra_regs.h', () => {
    const r = gen('--check');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('detects a stale file when the header changes', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'regs-'));
    const header = readFileSync(path.join(root, 'native/include/ra_regs.h'), 'utf8').replace(
      '#define RA_REG_MAGIC            0x000',
      '#define RA_REG_MAGIC            0x004',
    );
    writeFileSync(path.join(dir, 'ra_regs.h'), header);
    const r = gen(
      '--check',
      '--header',
      path.join(dir, 'ra_regs.h'),
      '--output',
      path.join(root, 'src/driver/regs.ts'),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/stale/);
  });

  it('refuses a define it cannot parse instead of skipping it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'regs-'));
    writeFileSync(path.join(dir, 'ra_regs.h'), '#define RA_REG_X (1 << 2)\n');
    const r = gen('--check', '--header', path.join(dir, 'ra_regs.h'), '--output', path.join(dir, 'out.ts'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cannot parse/);
  });

  it('carries values, not just names', () => {
    expect(Reg.MAGIC).toBe(0);
    expect(Bar.BYTES).toBe(4 * 1024 * 1024);
    expect(Slice.STRIDE).toBe(0x40);
  });
});
