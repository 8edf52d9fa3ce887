// The quota table on disk (serve --quotas FILE, or <state>/quotas.json): read and validated at start,
// written by PUT /v1/tenants/{tenant}/quota before the new quota applies, so a restart keeps it.
// A write goes to a temporary file that is fsynced and renamed over the old one (then the folder is
// fsynced): a crash leaves the old table or the new one, never half of one.
import { renameSync } from 'node:fs';
import path from 'node:path';
import { RaError } from '../common/errors.js';
import { fsyncDirectory, readIfExists, writeFileDurably } from '../store/durable.js';
import { type QuotaTable, validateQuotaTable } from './quotas.js';
import { GrmCode } from './types.js';

/** The table in `file`; an absent file is an empty table (no limits). A bad file names what is wrong. */
export function readQuotaFile(file: string): QuotaTable {
  const bytes = readIfExists(file);
  if (bytes === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `quotas file ${file} is not JSON (${(err as Error).message}); fix it or remove it`,
    );
  }
  try {
    return validateQuotaTable(parsed);
  } catch (err) {
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `quotas file ${file}: ${(err as Error).message}; see docs/grm.md, "Roles and quotas", for its format`,
    );
  }
}

/** Writes the table durably (temporary file, fsync, rename, fsync of the folder). */
export function writeQuotaFile(file: string, table: QuotaTable): void {
  const temporary = `${file}.tmp`;
  writeFileDurably(temporary, `${JSON.stringify(table, null, 2)}\n`);
  renameSync(temporary, file);
  fsyncDirectory(path.dirname(path.resolve(file)));
}
