// Bitstreams made on the fly for tests: a signing key, a trust store that holds it, and a folder of
// descriptor + image pairs written with writeBitstreamFiles.
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { type BitstreamSpec, buildBitstream } from '../../src/bitstream/build.js';
import type { TargetAdapter } from '../../src/bitstream/compatibility.js';
import type { Descriptor, UnsignedDescriptor } from '../../src/bitstream/descriptor.js';
import { writeBitstreamFiles } from '../../src/bitstream/files.js';
import { type GeneratedKey, generateSigningKey, signDescriptor } from '../../src/bitstream/signing.js';
import { TrustStore } from '../../src/bitstream/trust.js';
import { RaError } from '../../src/common/errors.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** A temporary folder removed after the file's tests. */
export function useTempDir(prefix = 'rafabric-bitstream-'): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
    dirs.push(d);
    return d;
  };
}

export const testKey: GeneratedKey = generateSigningKey();
export const testTrust = TrustStore.fromPem([{ name: 'test', publicKey: testKey.publicKeyPem }]);

export const baseSpec: BitstreamSpec = {
  id: 'test-crc',
  function: 'crc32c',
  version: '1.2.3',
  vendor: 'rafabric tests',
  description: 'a crc32c engine made by the tests',
  contexts: 4,
  payloadBytes: 8 * KiB,
};

/** The default adapter of the embedded model (ra-spec §1.1). */
export const modelIdentity: Required<TargetAdapter> = {
  uri: 'shm:///test/ra0.sock',
  specVersion: '1.0',
  slotBytes: 16 * MiB,
  stagingBytes: 3 * MiB,
  functions: 0x1e,
  contextsPerEngine: 8,
};

export interface Made {
  descriptor: Descriptor;
  image: Buffer;
}

/** Builds and (unless `sign: false`) signs a bitstream; `edit` may change the descriptor first. */
export function make(
  spec: Partial<BitstreamSpec> = {},
  {
    sign = true,
    key = testKey,
    edit,
  }: { sign?: boolean; key?: GeneratedKey; edit?: (d: UnsignedDescriptor) => void } = {},
): Made {
  const { descriptor, image } = buildBitstream({ ...baseSpec, ...spec });
  edit?.(descriptor);
  const d: Descriptor = sign ? signDescriptor(descriptor, descriptor.image.sha256, key) : descriptor;
  return { descriptor: d, image };
}

/** Writes `made` into `dir` as `<id>.rabit.json` + `<id>.rabit`; returns the descriptor path. */
export function write(dir: string, made: Made): string {
  return writeBitstreamFiles(dir, made.descriptor, made.image).descriptorPath;
}

/** A deep copy to mutate. */
export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** A descriptor as plain JSON, for tests that break it on purpose. */
// biome-ignore lint/suspicious/noExplicitAny: tests write wrong types into descriptors on purpose
export type Loose = Record<string, any>;

/** A deep copy of `v` typed loosely, to mutate into something invalid. */
export function loose(v: unknown): Loose {
  return structuredClone(v) as Loose;
}

/** Runs `fn`, expects a RaError with `code` and a message matching `message`. */
export function expectRefusal(fn: () => unknown, code: string, message?: RegExp | string): RaError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RaError);
    const e = err as RaError;
    expect(e.code, e.message).toBe(code);
    if (message !== undefined) expect(e.message).toMatch(message);
    return e;
  }
  throw new Error(`expected a ${code} refusal, but nothing was thrown`);
}

export async function expectRefusalAsync(
  fn: () => Promise<unknown>,
  code: string,
  message?: RegExp | string,
): Promise<RaError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RaError);
    const e = err as RaError;
    expect(e.code, e.message).toBe(code);
    if (message !== undefined) expect(e.message).toMatch(message);
    return e;
  }
  throw new Error(`expected a ${code} refusal, but nothing was thrown`);
}
