// Parsing and validating CLI values. Every refusal names the flag and says what is expected.
import { readFileSync } from 'node:fs';
import { CliCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { isFunctionName } from '../common/functions.js';
import { MAX_MATMUL_DIMENSION } from '../common/schema/model.js';

/** Commander's name of an option as the user types it: stopModel -> --stop-model. */
export const flagName = (attribute: string): string =>
  `--${attribute.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

const SIZE = /^(\d+)\s*([KMGT]i?B?|B)?$/i;
const MULT: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "8G", "512M", "4096" -> bytes (powers of 1024). */
export function parseSize(flag: string, text: string, { allowZero = false } = {}): number {
  const m = SIZE.exec(String(text).trim());
  if (!m) throw new RaError(CliCode.USAGE, `${flag}: '${text}' is not a size (examples: 4096, 512M, 8G)`);
  const unit = (m[2] ?? '').toUpperCase().charAt(0);
  const value = Number(m[1]) * (MULT[unit] ?? 1);
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1))
    throw new RaError(CliCode.USAGE, `${flag}: '${text}' is out of range`);
  return value;
}

export function parseInteger(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(String(text).trim()))
    throw new RaError(CliCode.USAGE, `${flag}: '${text}' is not a whole number`);
  const v = Number(text);
  if (v < min || v > max) throw new RaError(CliCode.USAGE, `${flag}: must be ${min}..${max}, got ${v}`);
  return v;
}

export function parseHex(flag: string, text: string, bytes: number): Buffer {
  const clean = String(text).replace(/^0x/i, '');
  if (!/^[0-9a-f]*$/i.test(clean) || clean.length !== bytes * 2) {
    throw new RaError(CliCode.USAGE, `${flag}: expected ${bytes} bytes as ${bytes * 2} hex digits`);
  }
  return Buffer.from(clean, 'hex');
}

/** "3,5,7" -> matmul-f32 dimensions: C (m x n) = A (m x k) B (k x n), each 1..4096 (ra-spec §12). */
export function parseDims(flag: string, text: string): { m: number; n: number; k: number } {
  const dims = String(text)
    .split(',')
    .map((d) => Number(d));
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1 || d > MAX_MATMUL_DIMENSION)) {
    throw new RaError(
      CliCode.USAGE,
      `${flag}: expected m,n,k with each 1..${MAX_MATMUL_DIMENSION} (C m x n = A m x k by B k x n), got '${text}'`,
    );
  }
  const [m, n, k] = dims as [number, number, number];
  return { m, n, k };
}

/** "shm:///dir/ra0.sock@4096" -> { uri, offset }. */
export function parseUriAt(flag: string, text: string): { uri: string; offset: number } {
  const at = text.lastIndexOf('@');
  if (at < 0) throw new RaError(CliCode.USAGE, `${flag}: expected URI@OFFSET, e.g. shm:///tmp/ra/ra0.sock@0`);
  return {
    uri: text.slice(0, at),
    offset: parseSize(`${flag} offset`, text.slice(at + 1), { allowZero: true }),
  };
}

/** The flags that carry one function's parameters (`exec` and `adapter run`): meaningless to any other. */
const functionParameterFlags = { key: 'aes-256-gcm', iv: 'aes-256-gcm', dims: 'matmul-f32' } as const;

type FunctionParameterFlag = keyof typeof functionParameterFlags;

/**
 * Refuses parameter flags of different functions given together (--key with --dims), and a parameter
 * flag of another function than a known --function: only one function's parameters are sent, so the
 * others would be dropped without a word.
 */
export function checkFunctionFlags(fn: string, given: Partial<Record<FunctionParameterFlag, unknown>>): void {
  const flags = (Object.keys(functionParameterFlags) as FunctionParameterFlag[]).filter(
    (f) => given[f] !== undefined,
  );
  const owner = (f: FunctionParameterFlag) => functionParameterFlags[f];
  const other = flags.find((f) => owner(f) !== owner(flags[0]!));
  if (other !== undefined)
    throw new RaError(
      CliCode.USAGE,
      `--${flags[0]} and --${other}: --${flags[0]} is for ${owner(flags[0]!)}, --${other} for ${owner(other)}; give the flags of one function`,
    );
  const misplaced = flags.find((f) => isFunctionName(fn) && owner(f) !== fn);
  if (misplaced !== undefined)
    throw new RaError(CliCode.USAGE, `--${misplaced}: it is for ${owner(misplaced)}, not --function ${fn}`);
}

/** The contents of a file a flag names: a missing or unreadable file is that flag's refusal. */
export function readFlagFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new RaError(CliCode.USAGE, `${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
}
