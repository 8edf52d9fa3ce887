#!/usr/bin/env node
// Generates the TypeScript types of the GRM API (src/api/generated/openapi.d.ts) from the OpenAPI
// document the code produces, with the pinned openapi-typescript. The CLI's client (openapi-fetch,
// src/cli/api-client.ts) is typed by them, so a change to the document that breaks the CLI fails
// the type check.
//   npm run gen:api                          build the document (dist/) and write the file
//   node scripts/gen-api.mjs DOC.json OUT    generate from a document file (the staleness test)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'node_modules/openapi-typescript/bin/cli.js');

function generate(documentPath, outputPath) {
  const r = spawnSync(process.execPath, [bin, documentPath, '--output', outputPath], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    process.stderr.write(r.stderr || r.stdout);
    process.exit(r.status ?? 1);
  }
}

const [documentArg, outputArg] = process.argv.slice(2);
if (documentArg && outputArg) {
  generate(path.resolve(documentArg), path.resolve(outputArg));
} else {
  const { openApiDocument } = await import(path.join(root, 'dist/api/openapi.js'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gen-api-'));
  try {
    const documentPath = path.join(dir, 'openapi.json');
    writeFileSync(documentPath, JSON.stringify(openApiDocument));
    generate(documentPath, path.join(root, 'src/api/generated/openapi.d.ts'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
