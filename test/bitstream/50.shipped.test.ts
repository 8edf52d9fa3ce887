// The bitstreams in bitstreams/: every one verifies under the package's trust store, and
// scripts/make-bitstreams.mjs regenerates them byte for byte (deterministic, idempotent).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/bitstream/catalog.js';
import { parseImageHeader } from '../../src/bitstream/image.js';
import { shippedCatalogPath } from '../../src/bitstream/shipped.js';
import { defaultTrustPath, TrustStore } from '../../src/bitstream/trust.js';
import { verifyBitstreamFile } from '../../src/bitstream/verify.js';
import { packageRoot } from '../../src/driver/native.js';
import { modelIdentity, useTempDir } from './fixtures.js';

const tempDir = useTempDir();
const descriptors = readdirSync(shippedCatalogPath).filter((f) => f.endsWith('.rabit.json'));

describe('shipped bitstreams', () => {
  it('cover aes-256-gcm, sha256, crc32c and custom logic', () => {
    const functions = descriptors.map(
      (f) => JSON.parse(readFileSync(path.join(shippedCatalogPath, f), 'utf8')).function,
    );
    expect(new Set(functions)).toEqual(new Set(['aes-256-gcm', 'sha256', 'crc32c', 'pipeline']));
    expect(descriptors).toContain('pipeline-xor-crc.rabit.json');
  });

  for (const file of descriptors) {
    it(`${file} verifies, signed by the development key, for the default model adapter`, () => {
      const v = verifyBitstreamFile(path.join(shippedCatalogPath, file), {
        trust: TrustStore.load(),
        target: modelIdentity,
      });
      expect(v.signature).toMatchObject({ signed: true, keyName: 'rafabric-dev' });
      expect(v.payloadBytes).toBeGreaterThanOrEqual(64 * 1024);
      expect(v.payloadBytes).toBeLessThanOrEqual(256 * 1024);
      expect(parseImageHeader(v.image).name).toBe(v.descriptor.id.slice(0, 24));
    });
  }

  it('open as a strict catalog with the default trust store', () => {
    const catalog = Catalog.open(shippedCatalogPath, { strict: true });
    expect(catalog.list().map((e) => e.id)).toEqual(
      descriptors.map((f) => f.replace('.rabit.json', '')).sort(),
    );
    expect(
      catalog
        .findByFunction('pipeline', modelIdentity)
        .map((e) => e.id)
        .sort(),
    ).toEqual(['pipeline-scramble', 'pipeline-xor-crc']);
  });

  it('the trust store holds exactly the development key, and it signs them', () => {
    const trust = TrustStore.load(defaultTrustPath);
    expect(trust.list().map((k) => k.name)).toEqual(['rafabric-dev']);
    const keyFile = readFileSync(
      path.join(packageRoot, 'bitstreams', 'keys', 'rafabric-dev.key.pem'),
      'utf8',
    );
    expect(keyFile).toMatch(/DEVELOPMENT KEY - NOT SECRET/);
  });

  it('make-bitstreams regenerates identical files, twice (deterministic and idempotent)', () => {
    const script = path.join(packageRoot, 'scripts', 'make-bitstreams.mjs');
    const out = tempDir();
    execFileSync(process.execPath, [script, '--out', out], { encoding: 'utf8' });
    const second = execFileSync(process.execPath, [script, '--out', out], { encoding: 'utf8' });
    expect(second).not.toMatch(/wrote/);
    const generated = readdirSync(out).sort();
    expect(generated).toEqual(
      readdirSync(shippedCatalogPath)
        .filter((f) => f.endsWith('.rabit') || f.endsWith('.rabit.json'))
        .sort(),
    );
    for (const f of generated) {
      expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(shippedCatalogPath, f))), f).toBe(
        true,
      );
    }
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toMatch(/up to date/);
  });
});
