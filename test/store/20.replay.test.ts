// Replay equals the model: random sequences of operations (seeded; a failure prints its seed) run against
// an independent model of the rules, the in-memory store and the journal store, which is closed and
// reopened at random points and compacts every few records. Every outcome (ok or error code) and every
// state must agree, and a reopened store must hold exactly the state it had when it was closed.
import { describe, expect, it } from 'vitest';
import { JournalStore, MemoryStore } from '../../src/store/index.js';
import { Model, Prng, plain, randomOp, runOn, tempDir } from './helpers.js';

const SEEDS = 12;
const STEPS = 150;

describe('replay after random operation sequences', () => {
  it.each(Array.from({ length: SEEDS }, (_, i) => 1000 + i))(
    'seed %i: replay equals the model',
    async (seed) => {
      const rng = new Prng(seed);
      const compactEveryRecords = rng.pick([1, 3, 7, 40, 1000]);
      const dir = tempDir();
      const model = new Model();
      const memory = new MemoryStore();
      let journal = JournalStore.open(dir, { compactEveryRecords });
      let durableOps = 0;
      for (let step = 0; step < STEPS; step++) {
        const op = randomOp(rng, model);
        const expected = model.apply(op);
        const where = `seed ${seed} step ${step} ${op.op}`;
        expect(await runOn(memory, op), where).toBe(expected);
        expect(await runOn(journal, op), where).toBe(expected);
        if (expected === 'ok') durableOps += 1;
        expect(plain(memory.load()), where).toEqual(plain(model));
        if (rng.chance(0.08)) {
          const before = plain(journal.load());
          await journal.close();
          journal = JournalStore.open(dir, { compactEveryRecords });
          expect(plain(journal.load()), `${where}: reopened`).toEqual(before);
          expect(journal.load().diagnostics.repairedTail).toBe(false);
        }
      }
      expect(plain(journal.load())).toEqual(plain(model));
      // Refused operations wrote nothing: one journal record per successful operation.
      expect(journal.lastSeq).toBe(durableOps);
      expect(durableOps, 'the random mix must mostly succeed').toBeGreaterThan(STEPS / 4);
      await journal.close();
      const reopened = JournalStore.open(dir);
      expect(plain(reopened.load())).toEqual(plain(model));
      await reopened.close();
    },
  );
});
