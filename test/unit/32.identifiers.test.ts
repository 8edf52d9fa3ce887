// The identifiers every layer shares (src/common/): adapter ids and owner keys, built and parsed by
// one module, checked here against the format the agent and the GRM agree on.
import { describe, expect, it } from 'vitest';
import { adapterId, parseAdapterId, serverOf } from '../../src/common/ids.js';
import { isOwnerKeyHex, ownerKeyHex, ownerKeyOf, randomOwnerKey } from '../../src/common/owner-key.js';
import { Prng } from '../helpers/prng.js';

describe('adapter ids', () => {
  it('round-trips server and fabric port, servers with slashes included', () => {
    const rng = new Prng(9);
    for (const server of ['local', 'rack1/node7', 'a/b/c', 'h-1.example']) {
      for (let i = 0; i < 20; i++) {
        const port = rng.int(0, 1 << 16);
        const id = adapterId(server, port);
        expect(id).toBe(`${server}/ra${port}`);
        expect(parseAdapterId(id)).toEqual({ server, fabricPort: port });
        expect(serverOf(id)).toBe(server);
      }
    }
  });

  it.each(['ra0', '/ra0', 'local/ra', 'local/ra01', 'local/rax', 'local/', 'local/ra-1', 'local/ra1/'])(
    'refuses %j',
    (id) => expect(parseAdapterId(id)).toBeUndefined(),
  );
});

describe('owner keys', () => {
  it('fresh keys are never 0 and round-trip through their 16 hex digits', () => {
    for (let i = 0; i < 200; i++) {
      const key = randomOwnerKey();
      expect(key).not.toBe(0n);
      const hex = ownerKeyHex(key);
      expect(isOwnerKeyHex(hex)).toBe(true);
      expect(ownerKeyOf(hex)).toBe(key);
    }
    expect(ownerKeyHex(1n)).toBe('0000000000000001');
  });

  it.each(['', '123', '0123456789ABCDEF', '0123456789abcdef0', 'g123456789abcdef', 42])(
    'refuses %j as a key',
    (text) => expect(isOwnerKeyHex(text)).toBe(false),
  );
});
