// How the CLI prints: tables for people, JSON for machines, errors as one line on stderr.
import { RaError } from '../common/errors.js';

export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2)}\n`,
  );
}

/** A plain-text table: columns padded to their widest cell. */
export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [
    headers,
    ...rows.map((r) => r.map((c) => (c === undefined || c === null ? '-' : String(c)))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function printError(err: unknown): void {
  if (err instanceof RaError) process.stderr.write(`rafabric: ${err.message} [${err.code}]\n`);
  else if (err instanceof Error) process.stderr.write(`rafabric: ${err.message}\n`);
  else process.stderr.write(`rafabric: ${String(err)}\n`);
}

/** Bytes for people: 8 GiB, 2 MiB, 512 B. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1 && Number.isInteger(v / 1024)) {
    v /= 1024;
    u++;
  }
  return `${v} ${units[u]}`;
}
