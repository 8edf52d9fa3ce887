// Independent reference implementations the engines are checked against (plain TS, no adapter).
import { createCipheriv, createHash } from 'node:crypto';

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function crc32cBytes(data: Uint8Array): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(crc32c(data));
  return b;
}

export function aes256gcm(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', key, iv);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

export const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** C = A(m x k) B(k x n), f32, accumulated in f32 in increasing k (ra-spec §12). */
export function matmulF32(m: number, n: number, k: number, a: Float32Array, b: Float32Array): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = Math.fround(acc + Math.fround(a[i * k + p]! * b[p * n + j]!));
      c[i * n + j] = acc;
    }
  }
  return c;
}

export type Stage = { op: 'xor' | 'add' | 'reverse' | 'sha256' | 'crc32c' | 'rotl'; arg?: number };

export function pipeline(stages: readonly Stage[], input: Uint8Array): Buffer {
  let d: Buffer = Buffer.from(input);
  for (const s of stages) {
    const arg = s.arg ?? 0;
    if (s.op === 'xor') d = Buffer.from(d.map((x) => x ^ (arg & 0xff)));
    else if (s.op === 'add') d = Buffer.from(d.map((x) => (x + arg) & 0xff));
    else if (s.op === 'reverse') d = Buffer.from(d).reverse();
    else if (s.op === 'sha256') d = sha256(d);
    else if (s.op === 'crc32c') d = crc32cBytes(d);
    else if (s.op === 'rotl') {
      const r = arg & 7;
      d = Buffer.from(d.map((x) => ((x << r) | (x >>> (8 - r))) & 0xff));
    }
  }
  return d;
}

/** Deterministic pseudo-random bytes (xorshift32) so failures reproduce. */
export function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
