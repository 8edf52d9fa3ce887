// parseTokens: `--tokens alice=TOKEN,bob=TOKEN` / RAFABRIC_TOKENS, and every refusal, none echoing a token.
import { describe, expect, it } from 'vitest';
import { parseTokens } from '../../src/api/tokens.js';
import { RaError } from '../../src/common/errors.js';

function refusal(text: string): RaError {
  try {
    parseTokens(text);
  } catch (err) {
    expect(err).toBeInstanceOf(RaError);
    expect((err as RaError).code).toBe('INVALID_REQUEST');
    return err as RaError;
  }
  throw new Error(`parseTokens accepted ${JSON.stringify(text)}`);
}

describe('parseTokens', () => {
  it('maps token -> tenant, trimming spaces and ignoring empty entries', () => {
    const tokens = parseTokens(' alice=aaaaaaaa1, bob=bbbb.bbbb+/= ,,');
    expect([...tokens]).toEqual([
      ['aaaaaaaa1', 'alice'],
      ['bbbb.bbbb+/=', 'bob'],
    ]);
  });

  it('lets one tenant hold several tokens (rotation)', () => {
    expect(parseTokens('alice=old-token-1,alice=new-token-2').size).toBe(2);
  });

  const cases: [string, string, RegExp][] = [
    ['empty', '', /none given/],
    ['only commas', ' , ,', /none given/],
    ['no =', 'alice', /entry 1 is not tenant=TOKEN/],
    ['empty tenant', '=secret-token', /tenant name/],
    ['upper-case tenant', 'Alice=secret-token', /tenant name/],
    ['tenant too long', `${'a'.repeat(65)}=secret-token`, /tenant name/],
    ['short token', 'alice=short', /at least 8/],
    ['token with a space', 'alice=secret token', /may hold only/],
    ['token with a quote', 'alice=secret"token', /may hold only/],
    ['duplicate token', 'alice=secret-token,bob=secret-token', /entry 2 \(bob\).*already given to alice/],
  ];
  it.each(cases)('refuses %s', (_name, text, message) => {
    const err = refusal(text);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('secret');
  });
});
