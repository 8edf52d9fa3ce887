// Properties of the error codes and of the HTTP status table (src/common/codes.ts, src/api/errors.ts),
// not a copy of them: every code of every layer is mapped, no code string belongs to two layers, codes
// have one shape, and the datasheet's codes are exactly the generated register map's.
import { describe, expect, it } from 'vitest';
import { statusByCode } from '../../src/api/errors.js';
import { codeSetsByOwner, DeviceCode, GrmCode, RvlCode } from '../../src/common/codes.js';
import { deviceErrorCode } from '../../src/driver/errors.js';
import { Err } from '../../src/driver/regs.js';

const owned = Object.entries(codeSetsByOwner).flatMap(([owner, set]) =>
  Object.values(set).map((code) => ({ owner, code: code as string })),
);
const STATUSES = new Set([400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 502, 503]);

describe('error codes', () => {
  it('every code of every layer is in the status table, with a status the API documents', () => {
    expect(owned.length).toBeGreaterThan(60);
    for (const { owner, code } of owned) {
      expect(STATUSES.has(statusByCode.get(code) ?? -1), `${owner} ${code}`).toBe(true);
    }
  });

  it('the table maps nothing that no layer raises', () => {
    const known = new Set(owned.map((o) => o.code));
    for (const code of statusByCode.keys()) expect(known.has(code), code).toBe(true);
  });

  it('no code string is owned by two layers', () => {
    const owners = new Map<string, string>();
    for (const { owner, code } of owned) {
      expect(owners.get(code), `${code} is owned by ${owners.get(code)} and ${owner}`).toBeUndefined();
      owners.set(code, owner);
    }
  });

  it('codes are upper snake case, and a key names its code (STORE_NOT_FOUND under NOT_FOUND)', () => {
    for (const set of Object.values(codeSetsByOwner)) {
      for (const [key, code] of Object.entries(set)) {
        expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
        expect(code === key || code.endsWith(`_${key}`), `${key}: ${code}`).toBe(true);
      }
    }
  });

  it('the layers that share INVALID_REQUEST (GRM, RVL) share the one code, from the request set', () => {
    expect(RvlCode.INVALID_REQUEST).toBe(GrmCode.INVALID_REQUEST);
    expect(codeSetsByOwner.request.INVALID_REQUEST).toBe(GrmCode.INVALID_REQUEST);
    expect(Object.values(codeSetsByOwner.grm)).not.toContain('INVALID_REQUEST');
    expect(Object.values(codeSetsByOwner.rvl)).not.toContain('INVALID_REQUEST');
  });

  it('DeviceCode is exactly the datasheet errors of the generated register map (ra-spec §15)', () => {
    const generated = Object.entries(Err)
      .filter(([name]) => name !== 'OK' && name !== 'COUNT')
      .map(([, n]) => deviceErrorCode(n));
    expect(Object.values(DeviceCode).sort()).toEqual(generated.sort());
  });

  it('429 is the quota code alone (issue 16): a client backs off on it, not on a 409 another release clears', () => {
    const at429 = [...statusByCode].filter(([, status]) => status === 429).map(([code]) => code);
    expect(at429).toEqual([GrmCode.QUOTA_EXCEEDED]);
  });

  it('the store and the agent no longer raise the GRM codes a client reads as its own fault', () => {
    const lower = [...Object.values(codeSetsByOwner.store), ...Object.values(codeSetsByOwner.agent)];
    for (const code of ['NOT_FOUND', 'CONFLICT', 'INVALID_ARGUMENT', 'INVALID_REQUEST', 'CLOSED'])
      expect(lower).not.toContain(code);
    for (const code of lower) expect([400, 404]).not.toContain(statusByCode.get(code));
  });
});
