// Starts a real device model process for a test file and opens its adapters.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { buildImage, specVersion } from '../../src/bitstream/image.js';
import { Adapter } from '../../src/driver/adapter.js';
import { type FunctionName, functionIds } from '../../src/driver/functions.js';
import { type ModelOptions, ModelProcess } from '../../src/driver/model-process.js';

export const MiB = 1024 * 1024;

/** Minor page faults of a process so far (/proc/<pid>/stat, field 10): the model's, to show a job
 * touched no fresh pages. */
export function minorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

export interface TestPool {
  model: ModelProcess;
  adapters: Adapter[];
}

/** beforeAll: start a model with `opts`; afterAll: close adapters and stop it. */
export function useModel(opts: Partial<ModelOptions> = {}): TestPool {
  const pool = { adapters: [] as Adapter[] } as unknown as TestPool;
  beforeAll(async () => {
    pool.model = await ModelProcess.start({
      adapters: 2,
      memoryBytes: 256 * MiB,
      configBytesPerSec: 4e9,
      ...opts,
    });
    pool.adapters = pool.model.uris.map((u) => Adapter.open(u));
  });
  afterAll(async () => {
    for (const a of pool.adapters) a.close();
    await pool.model?.stop();
  });
  return pool;
}

export const randomKey = (): bigint => randomBytes(8).readBigUInt64LE() | 1n;

/** A valid image for `fn` with a pseudo-random payload (the "configuration frames"). */
export function testImage(
  fn: FunctionName,
  { payload = randomBytes(4096) as Uint8Array, contexts = 4, name = `${fn}-test` } = {},
): Buffer {
  return buildImage(
    {
      functionId: functionIds[fn],
      specMin: specVersion('1.0'),
      specMax: specVersion('1.9'),
      contexts,
      version: 1,
      name,
    },
    payload,
  );
}
