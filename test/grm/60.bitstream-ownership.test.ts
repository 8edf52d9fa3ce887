// Issue 8 item 2: a bitstream a tenant registers is that tenant's. Bob signs an aes-256-gcm image with
// the (public) development key and registers it: alice's accelerator still runs the shipped image
// (read from the slot's SLOT_IMAGE_HASH register, not from the GRM), bob's own runs his, and alice
// neither sees nor loads it until an operator publishes it. Registrations are bounded in size and count.
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBitstream } from '../../src/bitstream/build.js';
import { openServerCatalog, openShippedCatalog, shippedCatalogPath } from '../../src/bitstream/shipped.js';
import { readSigningKey, signDescriptor } from '../../src/bitstream/signing.js';
import { RaError } from '../../src/common/errors.js';
import { Adapter } from '../../src/driver/adapter.js';
import { packageRoot } from '../../src/driver/native.js';
import { Slots } from '../../src/driver/slots.js';
import type { Allocation } from '../../src/grm/types.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';
import { MiB, quietLog } from './helpers.js';

const devKey = () => readSigningKey(path.join(packageRoot, 'bitstreams', 'keys', 'rafabric-dev.key.pem'));

/** An aes-256-gcm bitstream signed with the development key, as any tenant could make one. */
function devSigned(id: string, version: string, payloadBytes = 8192) {
  const { descriptor, image } = buildBitstream({
    id,
    function: 'aes-256-gcm',
    version,
    vendor: 'bob',
    description: 'an aes engine bob made',
    contexts: 8,
    payloadBytes,
  });
  return { descriptor: signDescriptor(descriptor, descriptor.image.sha256, devKey()), image };
}

const upload = (b: { descriptor: unknown; image: Buffer }) => ({
  descriptor: b.descriptor,
  image: b.image.toString('base64'),
});

async function refusal(p: Promise<unknown>): Promise<RaError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RaError);
  return err as RaError;
}

describe('bitstream ownership', () => {
  let pool: Embedded;
  let stateDir: string;
  const adapters = 2;
  const journal = () => statSync(path.join(stateDir, 'store', 'journal.jsonl')).size;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'grm-own-'));
    pool = await startEmbedded({
      adapters,
      memoryBytes: 256 * MiB,
      stateDir,
      log: quietLog,
      reallocateEveryMs: 3_600_000,
      catalog: openServerCatalog({ dir: path.join(stateDir, 'bitstreams'), trustDevKey: true }),
      operators: new Set(['ops']),
    });
  });
  afterAll(async () => {
    await pool?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** SLOT_IMAGE_HASH of the slot an accelerator's context slice sits in, read from the registers. */
  function slotImageHash(a: Allocation): string {
    const p = a.resources[0]!.placements[0]!;
    const index = Number(p.adapter.slice(p.adapter.lastIndexOf('/ra') + 3));
    const adapter = Adapter.open(`shm://${path.join(pool.modelDir, `ra${index}.sock`)}`);
    try {
      return new Slots(adapter).read(p.slot!).imageHash;
    } finally {
      adapter.close();
    }
  }

  async function encrypts(tenant: string, id: string): Promise<void> {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const input = randomBytes(4096);
    const { output } = await pool.grm.runJob(tenant, id, {
      function: 'aes-256-gcm',
      params: { key: key.toString('hex'), iv: iv.toString('hex') },
      input: input.toString('base64'),
    });
    const c = createCipheriv('aes-256-gcm', key, iv);
    expect(
      Buffer.from(output, 'base64').equals(Buffer.concat([c.update(input), c.final(), c.getAuthTag()])),
    ).toBe(true);
  }

  it("bob's registered image is his alone: alice's accelerator loads the shipped one, bob's loads his", async () => {
    const shipped = openShippedCatalog().findByFunction('aes-256-gcm')[0]!;
    const bobs = devSigned('bob-aes', '9.0.0');
    expect(await pool.grm.registerBitstream('bob', upload(bobs))).toEqual({ id: 'bob-aes' });
    // Written under the server's folder, never the package's.
    expect(readFileSync(path.join(stateDir, 'bitstreams', 'bob-aes.owner.json'), 'utf8')).toContain('"bob"');
    expect(pool.grm.listBitstreams('alice').map((b) => b.id)).not.toContain('bob-aes');
    expect(pool.grm.listBitstreams('bob').map((b) => b.id)).toContain('bob-aes');

    const bob = await pool.grm.allocate('bob', {
      resources: [{ kind: 'accelerator', function: 'aes-256-gcm' }],
    });
    expect(slotImageHash(bob)).toBe(bobs.descriptor.image.payloadSha256);
    await encrypts('bob', bob.id);

    // Bob's engine has free contexts, yet alice is never placed on it.
    const alice = await pool.grm.allocate('alice', {
      resources: [{ kind: 'accelerator', function: 'aes-256-gcm' }],
    });
    expect(slotImageHash(alice)).toBe(shipped.payloadSha256);
    expect(slotImageHash(alice)).not.toBe(bobs.descriptor.image.payloadSha256);
    await encrypts('alice', alice.id);
    await pool.grm.release('alice', alice.id);
    await pool.grm.release('bob', bob.id);
  });

  it("another tenant's bitstream does not exist for alice: 404 before anything is journaled, no path", async () => {
    const before = journal();
    const err = await refusal(
      pool.grm.allocate('alice', { resources: [{ kind: 'logic', bitstream: 'bob-aes' }] }),
    );
    expect(err.code).toBe('BITSTREAM_NOT_FOUND');
    expect(err.message).not.toContain(stateDir);
    expect(err.message).not.toMatch(/\/(tmp|work|home|dev)\//);
    const unknown = await refusal(
      pool.grm.allocate('alice', { resources: [{ kind: 'logic', bitstream: 'no-such-thing' }] }),
    );
    expect(unknown.code).toBe('BITSTREAM_NOT_FOUND');
    expect(unknown.message).not.toContain(stateDir);
    expect(journal()).toBe(before);
  });

  it('only an operator publishes; then every tenant sees it', async () => {
    expect((await refusal(pool.grm.publishBitstream('bob', 'bob-aes'))).code).toBe('FORBIDDEN');
    expect(pool.grm.listBitstreams('alice').map((b) => b.id)).not.toContain('bob-aes');
    await pool.grm.publishBitstream('ops', 'bob-aes');
    expect(pool.grm.listBitstreams('alice').map((b) => b.id)).toContain('bob-aes');
  });

  it('another tenant cannot take or replace an id', async () => {
    const mine = devSigned('carol-aes', '1.0.0');
    await pool.grm.registerBitstream('carol', upload(mine));
    const theirs = devSigned('carol-aes', '2.0.0');
    expect((await refusal(pool.grm.registerBitstream('dave', upload(theirs)))).code).toBe('BITSTREAM_EXISTS');
    expect(
      (await refusal(pool.grm.registerBitstream('dave', upload(devSigned('aes-256-gcm', '99.0.0'))))).code,
    ).toBe('BITSTREAM_EXISTS');
    expect(pool.grm.listBitstreams('carol').find((b) => b.id === 'carol-aes')?.version).toBe('1.0.0');
  });

  it('refuses an image no slot can load (40 MiB) without decoding it, and a tenant over its count', async () => {
    const huge = {
      descriptor: devSigned('huge', '1.0.0').descriptor,
      image: 'A'.repeat(Math.ceil((40 * MiB) / 3) * 4),
    };
    const big = await refusal(pool.grm.registerBitstream('erin', huge));
    expect(big.code).toBe('BITSTREAM_TOO_BIG');
    expect(big.message.length).toBeLessThan(300);
    for (let i = 0; i < 16; i++)
      await pool.grm.registerBitstream('erin', upload(devSigned(`erin-${i}`, '1.0.0', 4096)));
    const over = await refusal(
      pool.grm.registerBitstream('erin', upload(devSigned('erin-16', '1.0.0', 4096))),
    );
    expect(over.code).toBe('BITSTREAM_QUOTA');
    expect(pool.grm.listBitstreams('erin').filter((b) => b.id.startsWith('erin-'))).toHaveLength(16);
  });

  it('without --trust-dev-key a development-key signature is refused; the package folder is never a catalog', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'grm-own-strict-'));
    try {
      const strict = openServerCatalog({ dir });
      const bobs = devSigned('bob-aes', '9.0.0');
      expect(() => strict.register(bobs, { owner: 'bob' })).toThrow(/not in the trust store/);
      // The shipped ones are still served (verified under the package's own key).
      expect(strict.findByFunction('aes-256-gcm').map((e) => e.id)).toEqual(['aes-256-gcm']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => openServerCatalog({ dir: shippedCatalogPath })).toThrow(/inside the package/);
  });
});
