// A real crash of the writing process: a child `node` runs the store (src/store transpiled on the fly with
// the TypeScript compiler's transpileModule, since Node 20 cannot run .ts files), prints the count of
// durable operations after each returns, and is killed with SIGKILL at a random moment — during an append,
// an fsync or a compaction (it compacts every 7 records). Five kills in a row on one directory: each reopen
// must hold every acknowledged operation and at most the one in flight, take over the dead child's lock,
// and let the next child continue. What this cannot show: SIGKILL leaves the kernel's page cache intact,
// so it proves the process-crash path, not a power cut; torn records are covered by 30.torn-tail.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { JournalStore } from '../../src/store/index.js';
import { Prng, plain, tempDir } from './helpers.js';

const KEY = '0123456789abcdef';
const CREATED = '2025-01-01T00:00:00.000Z';

/**
 * src/store, and src/common (errors, codes and the data model's schemas) it imports, as plain ES
 * modules in a temporary directory (type-only imports are erased), with the project's node_modules
 * linked in for ajv.
 */
function transpileStore(): string {
  const out = tempDir('transpiled');
  const copy = (folder: string) => {
    const src = join(import.meta.dirname, '../../src', folder);
    fs.mkdirSync(join(out, folder));
    for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
      const file = entry.name;
      if (entry.isDirectory()) copy(join(folder, file));
      if (!entry.isFile() || !file.endsWith('.ts')) continue;
      const { outputText } = ts.transpileModule(fs.readFileSync(join(src, file), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
        fileName: file,
      });
      expect(outputText, file).not.toContain('../grm/');
      fs.writeFileSync(join(out, folder, file.replace(/\.ts$/, '.js')), outputText);
    }
  };
  copy('store');
  copy('common');
  fs.symlinkSync(join(import.meta.dirname, '../../node_modules'), join(out, 'node_modules'), 'dir');
  fs.writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  fs.writeFileSync(
    join(out, 'writer.js'),
    `import { writeSync } from 'node:fs';
import { JournalStore } from './store/index.js';
const store = JournalStore.open(process.argv[2], { compactEveryRecords: 7 });
for (let k = store.lastSeq; ; k++) {
  const id = 'x' + Math.floor(k / 2);
  if (k % 2 === 0) {
    await store.recordIntent({ id, tenant: 't', ownerKey: '${KEY}', placements: [{ adapter: 'ra0', slice: k % 64 }], createdAt: '${CREATED}' });
  } else {
    await store.commit({ id, tenant: 't', state: 'active', resources: [], policy: {}, createdAt: '${CREATED}', ownerKey: '${KEY}' });
  }
  writeSync(1, (k + 1) + '\\n');
}
`,
  );
  // Group commit under a crash: 32 concurrent writers, each printing its allocation id once commit()
  // resolved (that is the client's 201).
  fs.writeFileSync(
    join(out, 'group-writer.js'),
    `import { writeSync } from 'node:fs';
import { JournalStore } from './store/index.js';
const store = JournalStore.open(process.argv[2], { compactEveryRecords: 50 });
const run = process.argv[3];
await Promise.all(Array.from({ length: 32 }, async (_, w) => {
  for (let k = 0; ; k++) {
    const id = run + '-' + w + '-' + k;
    await store.recordIntent({ id, tenant: 't', ownerKey: '${KEY}', placements: [], createdAt: '${CREATED}' });
    await store.commit({ id, tenant: 't', state: 'active', resources: [], policy: {}, createdAt: '${CREATED}', ownerKey: '${KEY}' });
    writeSync(1, id + '\\n');
  }
}));
`,
  );
  // Gangs under a crash (issue 15): each gang is 8 intents, then one commitAll of the 8; the gang's id
  // is printed once commitAll resolved.
  fs.writeFileSync(
    join(out, 'gang-writer.js'),
    `import { writeSync } from 'node:fs';
import { JournalStore } from './store/index.js';
const store = JournalStore.open(process.argv[2], { compactEveryRecords: 23 });
const run = process.argv[3];
for (let g = 0; ; g++) {
  const ids = Array.from({ length: 8 }, (_, m) => run + '-g' + g + '-m' + m);
  await Promise.all(ids.map((id) => store.recordIntent({ id, tenant: 't', ownerKey: '${KEY}', placements: [], createdAt: '${CREATED}' })));
  await store.commitAll(ids.map((id) => ({ id, tenant: 't', state: 'active', resources: [], policy: {}, createdAt: '${CREATED}', ownerKey: '${KEY}' })));
  writeSync(1, run + '-g' + g + '\\n');
}
`,
  );
  return out;
}

/** The state after the writer's first `n` operations. */
function expectedAfter(n: number) {
  const allocations = new Map();
  const intents = new Map();
  for (let k = 0; k < n; k++) {
    const id = `x${Math.floor(k / 2)}`;
    if (k % 2 === 0) {
      intents.set(id, {
        id,
        tenant: 't',
        ownerKey: KEY,
        placements: [{ adapter: 'ra0', slice: k % 64 }],
        createdAt: CREATED,
      });
    } else {
      intents.delete(id);
      allocations.set(id, {
        id,
        tenant: 't',
        state: 'active',
        resources: [],
        policy: {},
        createdAt: CREATED,
        ownerKey: KEY,
      });
    }
  }
  return plain({ allocations, intents });
}

/** Runs the writer until it has acknowledged `atLeast` more operations, kills it; returns the last ack. */
function runAndKill(
  script: string,
  dir: string,
  atLeast: number,
  from: number,
  args: string[] = [],
): Promise<number> {
  return runAndKillLines(script, dir, atLeast, args).then((lines) =>
    lines.length ? Number(lines[lines.length - 1]) : from,
  );
}

/** Runs the script until it has printed `atLeast` lines, kills it with SIGKILL; resolves its lines. */
function runAndKillLines(
  script: string,
  dir: string,
  atLeast: number,
  args: string[] = [],
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!killed && out.split('\n').length - 1 >= atLeast) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited ${code}: ${err}`));
      resolve(out.split('\n').slice(0, -1));
    });
  });
}

describe('kill -9 of a writing process', () => {
  it('keeps every acknowledged operation across five kills, at most one more', async () => {
    const script = join(transpileStore(), 'writer.js');
    const dir = tempDir();
    const rng = new Prng(42);
    let durable = 0;
    for (let round = 0; round < 5; round++) {
      const acked = await runAndKill(script, dir, rng.int(20, 200), durable);
      const store = JournalStore.open(dir);
      const where = `round ${round}: ${acked} acknowledged, ${store.lastSeq} on disk`;
      expect(store.lastSeq, where).toBeGreaterThanOrEqual(acked);
      expect(store.lastSeq, where).toBeLessThanOrEqual(acked + 1);
      expect(plain(store.load()), where).toEqual(expectedAfter(store.lastSeq));
      expect(store.load().diagnostics.warnings.join('\n'), where).toMatch(
        /took over a stale lock of dead process/,
      );
      durable = store.lastSeq;
      await store.close();
    }
  }, 60_000);

  it('group commit: every commit acknowledged to one of 32 concurrent writers survives SIGKILL', async () => {
    const script = join(transpileStore(), 'group-writer.js');
    const dir = tempDir();
    const rng = new Prng(43);
    const acknowledged: string[] = [];
    for (let round = 0; round < 3; round++) {
      acknowledged.push(...(await runAndKillLines(script, dir, rng.int(100, 400), [`r${round}`])));
      const store = JournalStore.open(dir);
      const committed = store.load().allocations;
      const missing = acknowledged.filter((id) => !committed.has(id));
      expect(missing, `round ${round}: ${acknowledged.length} acknowledged`).toEqual([]);
      // Each writer has at most one durable but unprinted commit per round (killed before its ack).
      expect(committed.size).toBeLessThanOrEqual(acknowledged.length + 32 * (round + 1));
      await store.close();
    }
  }, 60_000);

  it('gangs: after SIGKILL each gang is wholly committed or not at all, and every acknowledged one is', async () => {
    const script = join(transpileStore(), 'gang-writer.js');
    const dir = tempDir();
    const rng = new Prng(44);
    const acknowledged: string[] = [];
    let partialSeen = 0;
    // At least four rounds, and more (up to 16) until a kill has landed between a gang's intents and
    // its commit: where that window is one fsync, a loaded machine can miss it four times in a row.
    for (let round = 0; round < 4 || (partialSeen === 0 && round < 16); round++) {
      acknowledged.push(...(await runAndKillLines(script, dir, rng.int(5, 40), [`r${round}`])));
      const store = JournalStore.open(dir);
      const { allocations, intents } = store.load();
      const members = new Map<string, number>();
      for (const id of allocations.keys()) {
        const gang = id.replace(/-m\d+$/, '');
        members.set(gang, (members.get(gang) ?? 0) + 1);
      }
      const where = `round ${round}: ${acknowledged.length} gangs acknowledged`;
      expect(
        [...members].filter(([, n]) => n !== 8),
        where,
      ).toEqual([]);
      expect(
        acknowledged.filter((g) => members.get(g) !== 8),
        where,
      ).toEqual([]);
      // A gang whose intents are durable but whose commitAll was not: all 8 are still intents.
      for (const id of intents.keys()) expect(allocations.has(id), id).toBe(false);
      partialSeen += intents.size;
      for (const id of intents.keys()) await store.abortIntent(id); // as reconciliation would
      await store.close();
    }
    // The kills landed between intents and commit at least once (else the check above is idle).
    expect(partialSeen).toBeGreaterThan(0);
  }, 60_000);
});
