// guardedCopy (native/addon/guarded_copy.cc): a copy from or to a mapping whose file was truncated
// (a revoked grant, ra-spec §18.7) returns false, and the process goes on running JavaScript
// afterwards. It runs in a child process so that a crash is this test's failure with its signal, not
// the test runner's: on a CPU with memory protection keys a jump out of the SIGBUS handler that left
// the kernel's default PKRU in place ended the next V8 access with SIGSEGV (SEGV_PKUERR).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const addonPath = path.resolve(import.meta.dirname, '../../build/Release/rafabric_native.node');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guarded-copy-'));

// (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
const ADD_WASM = [
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x03,
  0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20,
  0x00, 0x20, 0x01, 0x6a, 0x0b,
];

// WebAssembly first: V8 tags its code space with a protection key of its own where the CPU has them
// (undici's HTTP parser, which fetch uses, is WebAssembly too).
const child = `
const fs = require('node:fs');
const wasm = new Uint8Array(${JSON.stringify(ADD_WASM)});
const add = (module) => new WebAssembly.Instance(module).exports.add;
const early = add(new WebAssembly.Module(wasm));
const addon = require(${JSON.stringify(addonPath)});
const file = process.argv[1];
fs.writeFileSync(file, Buffer.alloc(65536, 7));
const m = new addon.HostMapping(file, 0, 65536, false);
const mapped = new Uint8Array(m.buffer);
const before = new Uint8Array(16);
const copiedBefore = addon.guardedCopy(before, mapped.subarray(0, 16));
fs.truncateSync(file, 0);
const out = new Uint8Array(16);
const results = [];
for (let i = 0; i < 50; i++) {
  results.push(addon.guardedCopy(out, mapped.subarray(4096, 4112)));
  results.push(addon.guardedCopy(mapped.subarray(0, 16), out));
}
// V8 at work after the faults: new WebAssembly and JavaScript code, many objects, a few collections
let sum = early(1, 2) + add(new WebAssembly.Module(wasm))(3, 4);
for (let round = 0; round < 20; round++) {
  const f = new Function('n', 'let s = 0; for (let i = 0; i < n; i++) s += i % ' + (round + 3) + '; return s;');
  const objects = Array.from({ length: 20000 }, (_, i) => ({ i, text: String(i * round) }));
  sum += f(10000) + objects.reduce((s, o) => s + o.text.length, 0);
}
m.close();
process.stdout.write(JSON.stringify({ copiedBefore, before: [...before], results, sum }));
`;

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('guardedCopy', () => {
  it('returns false on a truncated mapping, in both directions, and the process runs on', () => {
    const run = spawnSync(process.execPath, ['-e', child, path.join(dir, 'slice')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ signal: run.signal, status: run.status, stderr: run.stderr }).toEqual({
      signal: null,
      status: 0,
      stderr: '',
    });
    const out = JSON.parse(run.stdout);
    expect(out.copiedBefore).toBe(true);
    expect(out.before).toEqual(Array(16).fill(7));
    expect(out.results).toEqual(Array(100).fill(false));
    expect(out.sum).toBeGreaterThan(10);
  });
});
