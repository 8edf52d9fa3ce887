// FNV-1a over a string's UTF-16 code units: the hash of the RVL's open-addressing tables of names
// (owners.ts: allocation ids, server-numbers.ts: server names).
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
