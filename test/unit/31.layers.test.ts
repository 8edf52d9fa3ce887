// The layer rules of DESIGN.md ("a layer calls only the layer below it; the GRM never touches
// registers; the API goes through the GRM"), checked on every import of src/**/*.ts. A new import that
// breaks them fails here; a rule the code still breaks is a named exception below, never silent.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ImportEdge, importsOf, layerOf } from '../helpers/imports.js';

const root = path.join(import.meta.dirname, '../..');

/**
 * Which layers each layer may import (besides itself), from DESIGN.md's layer list. Decided from the
 * code where DESIGN.md is silent:
 * - bitstream -> driver: the image format is the datasheet's (ra-spec §13, the generated `Img`
 *   constants) and the loader programs slots through the driver (loading is a driver operation).
 * - grm -> agent is type-only: the GRM speaks the agent protocol through AgentClient objects the
 *   composition root hands it, and reads the inventory shape (AgentAdapter); it never runs agent code.
 * - cli -> grm, rvl: `rafabric` prints GRM types and drives the embedded mode through src/modes.
 * - cli -> client: `rafabric demo` plays an instance that uses its grants (demo-instance.ts, issue 13).
 * - client (the instance's library, docs/access.md) maps tenant windows and memory through the
 *   driver's mappings and register access; it never reaches the GRM.
 */
const allowed: Record<string, { layers: readonly string[]; typeOnly?: readonly string[] }> = {
  cli: {
    layers: ['api', 'modes', 'grm', 'rvl', 'store', 'agent', 'client', 'driver', 'bitstream', 'common'],
  },
  modes: { layers: ['api', 'grm', 'rvl', 'store', 'agent', 'driver', 'bitstream', 'common'] },
  api: { layers: ['grm', 'common'] },
  grm: { layers: ['rvl', 'store', 'bitstream', 'common'], typeOnly: ['agent'] },
  rvl: { layers: ['common'] },
  store: { layers: ['common'] },
  agent: { layers: ['driver', 'bitstream', 'common'] },
  client: { layers: ['driver', 'common'] },
  bitstream: { layers: ['driver', 'common'] },
  driver: { layers: ['common'] },
  common: { layers: [] },
};

/** Imports that break the rules today, each with why and what fixes it. */
const exceptions: { from: string; to: string; why: string }[] = [];

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(`${dir}/${e.name}`)
      : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')
        ? [`${dir}/${e.name}`]
        : [],
  );
}

/** The imports of `edges` that no rule and no exception allows, as "from -> to" lines. */
function violations(edges: ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    if (from === to) continue;
    const rule = allowed[from];
    const ok =
      rule !== undefined && (rule.layers.includes(to) || (e.typeOnly && (rule.typeOnly ?? []).includes(to)));
    if (ok || exceptions.some((x) => x.from === e.from && x.to === e.to)) continue;
    out.push(`${e.from} -> ${e.to}${e.typeOnly ? ' (type only)' : ''}`);
  }
  return out;
}

const files = sourceFiles('src');
const edges = files.flatMap((f) => importsOf(f, readFileSync(path.join(root, f), 'utf8')));

describe('layer rules', () => {
  it('every source file is in a layer of the table (no loose files under src/)', () => {
    expect(files.length).toBeGreaterThan(100);
    for (const f of files) expect(Object.keys(allowed), f).toContain(layerOf(f));
  });

  it('every import of src/**/*.ts follows the table or is a named exception', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(violations(edges)).toEqual([]);
  });

  it('every exception is still needed (a fixed one must leave the list)', () => {
    for (const x of exceptions) {
      expect(
        edges.some((e) => e.from === x.from && e.to === x.to),
        `${x.from} -> ${x.to} no longer exists`,
      ).toBe(true);
    }
  });

  describe('the check itself', () => {
    const check = (file: string, text: string) => violations(importsOf(file, text));

    it.each([
      ['the API reading registers', 'src/api/x.ts', "import { Bar } from '../driver/regs.js';"],
      ['the store importing the GRM', 'src/store/x.ts', "import type { Allocation } from '../grm/types.js';"],
      ['the GRM running agent code', 'src/grm/x.ts', "import { Agent } from '../agent/agent.js';"],
      ['the GRM opening adapters', 'src/grm/x.ts', "import { Adapter } from '../driver/adapter.js';"],
      [
        'the GRM encoding job parameters',
        'src/grm/x.ts',
        "import { matmulParams } from '../driver/jobs.js';",
      ],
      ['a layer importing a composition root', 'src/grm/x.ts', "import { x } from '../modes/embedded.js';"],
      ['common importing a layer', 'src/common/x.ts', "export { RaError } from '../driver/errors.js';"],
      ['a dynamic import', 'src/rvl/x.ts', "const m = await import('../store/index.js');"],
      [
        'a multi-line import',
        'src/driver/x.ts',
        "import {\n  Grm,\n  type GrmOptions,\n} from '../grm/grm.js';",
      ],
    ])('fails on %s', (_name, file, text) => {
      expect(check(file, text)).toHaveLength(1);
    });

    it.each([
      [
        'the GRM reading the agent protocol types',
        'src/grm/x.ts',
        "import type { AgentClient } from '../agent/protocol.js';",
      ],
      ['the API using common errors', 'src/api/x.ts', "import { RaError } from '../common/errors.js';"],
      ['a package', 'src/common/x.ts', "import { pino } from 'pino';"],
      ['a file of the same layer', 'src/store/x.ts', "import { StoreError } from './errors.js';"],
    ])('passes %s', (_name, file, text) => {
      expect(check(file, text)).toEqual([]);
    });
  });
});
