#!/usr/bin/env node
// Builds the native addon and the device model with node-gyp, offline.
// node-gyp would otherwise try to download Node's headers; on the machines this project runs on
// only the npm registry is reachable, so we point it at the headers of the running Node
// (node-gyp's --nodedir). Configures when the native file set changed, then builds
// incrementally.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const nodedir = path.resolve(process.execPath, '..', '..');

function nativeSources(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(c|cc|h)$/.test(e.name))
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}

function gyp(...args) {
  const result = spawnSync(process.execPath, [nodeGyp, ...args, `--nodedir=${nodedir}`], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) {
    console.error(`node-gyp ${args[0]} failed (exit ${result.status}); see the compiler output above.`);
    process.exit(result.status ?? 1);
  }
}

// binding.gyp lists sources with `ls`, evaluated at configure time: configure again whenever the set
// of native files (or binding.gyp) changed, so a new .c file is never silently left out.
const fingerprint = [
  readFileSync(path.join(root, 'binding.gyp'), 'utf8'),
  ...nativeSources(path.join(root, 'native')),
].join('\n');
const stamp = path.join(root, 'build', 'sources.stamp');
const stale =
  !existsSync(path.join(root, 'build', 'Makefile')) ||
  !existsSync(stamp) ||
  readFileSync(stamp, 'utf8') !== fingerprint;
if (stale || process.argv.includes('--reconfigure')) gyp('configure');
gyp('build', '--jobs=2');
writeFileSync(stamp, fingerprint);
