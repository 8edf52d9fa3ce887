// Base64 as the API and the agent protocol speak it: RFC 4648 §4, the standard alphabet with padding,
// and canonical, so one byte string has one spelling. Node's decoder is lenient (it drops a trailing
// partial group and ignores stray bits): a check with it alone let "QUJDQ" through as "ABC", and a
// job ran on other bytes than the client sent.

const ALPHABET_ONLY = /^[A-Za-z0-9+/]*$/;

/** The last character before "==" holds 2 bits of data and 4 zero bits; before "=", 4 and 2. */
const LAST_BEFORE_TWO_PADS = 'AQgw';
const LAST_BEFORE_ONE_PAD = 'AEIMQUYcgkosw048';

/** Whether `text` is canonical padded base64 (the empty string is: it encodes no bytes). */
export function isCanonicalBase64(text: string): boolean {
  if (text.length % 4 !== 0) return false;
  const pads = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const data = text.slice(0, text.length - pads);
  if (!ALPHABET_ONLY.test(data)) return false;
  if (pads === 2) return LAST_BEFORE_TWO_PADS.includes(data.at(-1) ?? '');
  if (pads === 1) return LAST_BEFORE_ONE_PAD.includes(data.at(-1) ?? '');
  return true;
}
