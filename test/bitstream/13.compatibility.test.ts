// Can this adapter host this bitstream? Spec range, function bit, contexts, slot and staging sizes.
import { describe, expect, it } from 'vitest';
import { assertCompatible, compatibilityProblems } from '../../src/bitstream/compatibility.js';
import { expectRefusal, KiB, MiB, make, modelIdentity } from './fixtures.js';

describe('adapter compatibility', () => {
  it('accepts a small image on the default model adapter', () => {
    expect(compatibilityProblems(make().descriptor, modelIdentity)).toEqual([]);
  });

  it('refuses an image for another spec version', () => {
    const d = make({ specMin: '2.0', specMax: '2.x' }).descriptor;
    expectRefusal(
      () => assertCompatible(d, modelIdentity),
      'BITSTREAM_SPEC',
      /runs on RA spec 2.0 to 2.x; adapter shm:\/\/\/test\/ra0.sock implements spec 1.0/,
    );
    const old = make({ specMin: '0.1', specMax: '0.9' }).descriptor;
    expectRefusal(() => assertCompatible(old, modelIdentity), 'BITSTREAM_SPEC');
    expect(compatibilityProblems(make({ specMin: '1.0', specMax: '1.0' }).descriptor, modelIdentity)).toEqual(
      [],
    );
    expectRefusal(
      () => assertCompatible(make({ specMin: '1.1', specMax: '1.x' }).descriptor, modelIdentity),
      'BITSTREAM_SPEC',
    );
  });

  it('refuses a function the adapter cannot host (CAP_FUNCTIONS)', () => {
    const d = make({ id: 'aes', function: 'aes-256-gcm' }).descriptor;
    expectRefusal(
      () => assertCompatible(d, { ...modelIdentity, functions: 0x1c }),
      'BITSTREAM_FUNCTION',
      /cannot host function aes-256-gcm \(CAP_FUNCTIONS 0x1c lacks bit 1\)/,
    );
  });

  it('refuses more contexts than CAP_CONTEXTS', () => {
    const d = make({ contexts: 16 }).descriptor;
    expectRefusal(
      () => assertCompatible(d, modelIdentity),
      'BITSTREAM_CONTEXTS',
      /provides 16 contexts; .* at most 8/,
    );
  });

  it('refuses a payload larger than the slot (CAP_SLOT_BYTES)', () => {
    const d = make({ payloadBytes: 64 * KiB }).descriptor;
    expectRefusal(
      () => assertCompatible(d, { ...modelIdentity, slotBytes: 32 * KiB }),
      'BITSTREAM_TOO_BIG',
      /65536-byte payload; the slots .* take at most 32768 bytes/,
    );
  });

  it('refuses an image larger than the staging window', () => {
    const d = make({ payloadBytes: 1 * MiB }).descriptor;
    expectRefusal(
      () => assertCompatible(d, { ...modelIdentity, stagingBytes: 512 * KiB }),
      'BITSTREAM_TOO_BIG',
      /staging window/,
    );
  });

  it('lists every problem, and checks only what it is told', () => {
    const d = make({ contexts: 16, specMin: '2.0', specMax: '2.x' }).descriptor;
    expect(compatibilityProblems(d, modelIdentity).map((e) => e.code)).toEqual([
      'BITSTREAM_SPEC',
      'BITSTREAM_CONTEXTS',
    ]);
    expect(compatibilityProblems(d, { slotBytes: 16 * MiB })).toEqual([]);
  });
});
