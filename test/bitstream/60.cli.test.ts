// `rafabric bitstream ...`: inspect, verify (every shipped descriptor), sign, keygen and load.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatDescriptor } from '../../src/bitstream/descriptor.js';
import { shippedCatalogPath } from '../../src/bitstream/shipped.js';
import { registerBitstreamCommands } from '../../src/cli/commands/bitstream.js';
import { Adapter } from '../../src/driver/adapter.js';
import { ModelProcess } from '../../src/driver/model-process.js';
import { Slots } from '../../src/driver/slots.js';
import { expectRefusalAsync, MiB, make, testKey, useTempDir, write } from './fixtures.js';

const tempDir = useTempDir();

/** Runs `rafabric bitstream ...args` in-process; returns what it printed and the exit code it set. */
async function cli(...args: string[]): Promise<{ out: string; code: number }> {
  const program = new Command('rafabric').exitOverride();
  registerBitstreamCommands(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  process.exitCode = 0;
  try {
    await program.parseAsync(['bitstream', ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, code };
}

afterEach(() => {
  process.exitCode = 0;
});

/** A folder holding testKey's public key, as a trust store. */
function testTrustDir(): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'test.pub.pem'), testKey.publicKeyPem);
  return dir;
}

describe('rafabric bitstream verify', () => {
  for (const file of readdirSync(shippedCatalogPath).filter((f) => f.endsWith('.rabit.json'))) {
    it(`passes on the shipped ${file} (default trust store)`, async () => {
      const { out, code } = await cli('verify', path.join(shippedCatalogPath, file), '--json');
      expect(code).toBe(0);
      const r = JSON.parse(out);
      expect(r).toMatchObject({
        ok: true,
        id: file.replace('.rabit.json', ''),
        signature: { signed: true, keyName: 'rafabric-dev' },
      });
    });
  }

  it('prints one ok line for people', async () => {
    const { out } = await cli('verify', path.join(shippedCatalogPath, 'sha256.rabit.json'));
    expect(out).toMatch(
      /^ok {2}sha256 1\.0\.0 \(sha256, 131072-byte payload\) signed by [0-9a-f]{16} \(rafabric-dev\)\n$/,
    );
  });

  it('refuses with the code and message as JSON and exit code 1', async () => {
    const file = write(tempDir(), make());
    const { out, code } = await cli('verify', file, '--json');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, code: 'BITSTREAM_UNKNOWN_KEY' });
    expect((await cli('verify', file, '--json', '--trust', testTrustDir())).code).toBe(0);
  });

  it('accepts an unsigned image only with --allow-unsigned', async () => {
    const file = write(tempDir(), make({}, { sign: false }));
    await expectRefusalAsync(() => cli('verify', file), 'BITSTREAM_UNSIGNED');
    expect((await cli('verify', file, '--allow-unsigned')).out).toMatch(
      /UNSIGNED \(accepted by --allow-unsigned\)/,
    );
  });
});

describe('rafabric bitstream inspect', () => {
  it('shows descriptor fields and the header', async () => {
    const { out } = await cli('inspect', path.join(shippedCatalogPath, 'pipeline-xor-crc.rabit.json'));
    expect(out).toMatch(/pipeline +xor\(90\) -> crc32c\(0\)/);
    expect(out).toMatch(/image vs descriptor +consistent/);
    expect(out).toMatch(/header \(ra-spec §13\)/);
    expect(out).toMatch(/function +4 \(pipeline\)/);
  });

  it('--json reports an inconsistency without throwing', async () => {
    const dir = tempDir();
    const m = make();
    write(dir, m);
    writeFileSync(path.join(dir, 'test-crc.rabit'), Buffer.concat([m.image, Buffer.alloc(1)]));
    const r = JSON.parse((await cli('inspect', path.join(dir, 'test-crc.rabit'), '--json')).out);
    expect(r.descriptor.id).toBe('test-crc');
    expect(r.header.functionId).toBe(3);
    expect(r.consistency).toMatchObject({ ok: false, code: 'BITSTREAM_SIZE' });
  });

  it('shows the header of a bare image', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'bare.rabit'), make().image);
    const { out } = await cli('inspect', path.join(dir, 'bare.rabit'));
    expect(out).toMatch(/no descriptor beside it/);
    expect(out).toMatch(/name +test-crc/);
  });
});

describe('rafabric bitstream keygen and sign', () => {
  it('makes a key, signs a descriptor with it, and verify accepts it with that key trusted', async () => {
    const keys = tempDir();
    const k = await cli('keygen', '--out-dir', keys, '--name', 'acme');
    const keyId = /^key ([0-9a-f]{16})/.exec(k.out)![1]!;
    expect(existsSync(path.join(keys, 'acme.key.pem'))).toBe(true);
    const dir = tempDir();
    const file = write(dir, make({}, { sign: false }));
    const s = await cli('sign', file, '--key', path.join(keys, 'acme.key.pem'));
    expect(s.out).toMatch(new RegExp(`signed test-crc with key ${keyId}`));
    expect(JSON.parse(readFileSync(file, 'utf8')).signature.keyId).toBe(keyId);
    const v = await cli('verify', file, '--trust', keys, '--json');
    expect(JSON.parse(v.out).signature).toEqual({ signed: true, keyId, keyName: 'acme' });
  });

  it('keygen refuses to overwrite a key', async () => {
    const keys = tempDir();
    await cli('keygen', '--out-dir', keys, '--name', 'acme');
    await expectRefusalAsync(() => cli('keygen', '--out-dir', keys, '--name', 'acme'), 'BITSTREAM_EXISTS');
  });

  it('sign --out writes elsewhere and leaves the input alone', async () => {
    const keys = tempDir();
    await cli('keygen', '--out-dir', keys, '--name', 'k');
    const dir = tempDir();
    const file = write(dir, make({}, { sign: false }));
    const before = readFileSync(file, 'utf8');
    const out = path.join(dir, 'signed.json');
    await cli('sign', file, '--key', path.join(keys, 'k.key.pem'), '--out', out);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(JSON.parse(readFileSync(out, 'utf8')).signature.algorithm).toBe('ed25519');
  });

  it('sign refuses an image that disagrees with its descriptor', async () => {
    const keys = tempDir();
    await cli('keygen', '--out-dir', keys, '--name', 'k');
    const dir = tempDir();
    const m = make({}, { sign: false });
    const file = write(dir, m);
    writeFileSync(path.join(dir, 'test-crc.rabit'), m.image.subarray(0, 500));
    await expectRefusalAsync(
      () => cli('sign', file, '--key', path.join(keys, 'k.key.pem')),
      'BITSTREAM_SIZE',
    );
    expect(formatDescriptor(JSON.parse(readFileSync(file, 'utf8')))).toBe(formatDescriptor(m.descriptor));
  });
});

describe('rafabric bitstream load', () => {
  let model: ModelProcess;
  beforeAll(async () => {
    model = await ModelProcess.start({ adapters: 1, memoryBytes: 256 * MiB });
  });
  afterAll(async () => {
    await model?.stop();
  });

  it('loads a shipped bitstream and prints one line when stdout is not a terminal', async () => {
    const { out, code } = await cli(
      'load',
      model.uri(0),
      path.join(shippedCatalogPath, 'crc32c.rabit.json'),
      '--slot',
      '1',
    );
    expect(code).toBe(0);
    expect(out).toMatch(
      /^loaded crc32c 1\.0\.0 into slot 1 of .* in \d+ ms: ready, crc32c, 8 contexts, signed by [0-9a-f]{16} \(rafabric-dev\)\n$/,
    );
  });

  it('--json reports the slot', async () => {
    const { out } = await cli(
      'load',
      model.uri(0),
      path.join(shippedCatalogPath, 'sha256.rabit'),
      '--slot',
      '2',
      '--json',
    );
    const r = JSON.parse(out);
    expect(r).toMatchObject({
      ok: true,
      id: 'sha256',
      slot: { index: 2, state: 'ready', function: 'sha256' },
    });
    expect(r.slot.imageHash).toBe(r.payloadSha256);
  });

  it('refuses before touching the slot, as JSON', async () => {
    const a = Adapter.open(model.uri(0));
    try {
      const before = new Slots(a).snapshot(1);
      const file = write(tempDir(), make());
      const { out, code } = await cli('load', model.uri(0), file, '--slot', '1', '--json');
      expect(code).toBe(1);
      expect(JSON.parse(out)).toMatchObject({ ok: false, code: 'BITSTREAM_UNKNOWN_KEY' });
      expect(new Slots(a).snapshot(1).equals(before)).toBe(true);
    } finally {
      a.close();
    }
  });

  it('refuses a bad --slot', async () => {
    await expectRefusalAsync(
      () => cli('load', model.uri(0), path.join(shippedCatalogPath, 'crc32c.rabit.json'), '--slot', 'x'),
      // The command line's own refusal (src/cli/parse.ts); the adapter's refusal of slot 9 is the driver's.
      'CLI_USAGE',
      /--slot/,
    );
    await expectRefusalAsync(
      () => cli('load', model.uri(0), path.join(shippedCatalogPath, 'crc32c.rabit.json'), '--slot', '9'),
      'INVALID_ARGUMENT',
      /slot 9 does not exist/,
    );
  });
});
