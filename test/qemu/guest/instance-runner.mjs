// Runs inside a guest of test/qemu/30.two-vms.qemu.ts, beside the agent: a tenant's "instance". It
// waits for request files REQ.json in the folder given as argument (the host writes them through the
// read-write share), maps the memory grant they name through /dev/dax, writes the pattern the host
// computes too (SHA-256 counter mode over the seed), reads it back, and answers with REQ.done.json.
// The host then checks the adapter's memory from its own side (the model's memory file).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dist = new URL('../../../dist/', import.meta.url);
const { addon } = await import(new URL('driver/native.js', dist).href);
const guest = await import(new URL('modes/qemu/guest.js', dist).href);
const DAX_ALIGN = 2 * 1024 * 1024;
const dir = process.argv[2];

function pattern(seed, bytes) {
  const out = Buffer.alloc(bytes);
  for (let i = 0, off = 0; off < bytes; i++, off += 32)
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

function serve(req) {
  const { dax, dpaOffsetBytes } = guest.daxOfSerial(BigInt(`0x${req.serial}`));
  const start = dpaOffsetBytes + req.offsetBytes;
  const mapStart = Math.floor(start / DAX_ALIGN) * DAX_ALIGN;
  const mapEnd = Math.ceil((start + req.bytes) / DAX_ALIGN) * DAX_ALIGN;
  const map = new (addon().MemoryMapping)(`dax:///dev/${dax}`, mapStart, mapEnd - mapStart);
  try {
    const view = new Uint8Array(map.buffer, start - mapStart, req.bytes);
    const data = pattern(req.seed, req.bytes);
    view.set(data);
    if (!Buffer.from(view).equals(data))
      throw new Error('the dax mapping does not read back what was written');
    return { dax, dpaOffsetBytes, sha256: createHash('sha256').update(data).digest('hex') };
  } finally {
    map.close();
  }
}

// Imports done: the host waits for this before it sends requests (under TCG they can take minutes).
writeFileSync(path.join(dir, 'ready'), `${Date.now()}\n`);
for (;;) {
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    if (!/^[a-z0-9-]+\.json$/.test(f) || f.endsWith('.done.json')) continue;
    const file = path.join(dir, f);
    const req = JSON.parse(readFileSync(file, 'utf8'));
    let answer;
    try {
      answer = { ok: true, ...serve(req) };
    } catch (err) {
      answer = { ok: false, error: err.message };
    }
    renameSync(file, `${file}.taken`);
    // written whole, then renamed: the host never reads half an answer
    const answerFile = path.join(dir, f.replace(/\.json$/, '.done.json'));
    writeFileSync(`${answerFile}.tmp`, JSON.stringify(answer));
    renameSync(`${answerFile}.tmp`, answerFile);
    console.log(`instance-runner: ${f} ${answer.ok ? 'done' : `failed: ${answer.error}`}`);
  }
  await new Promise((r) => setTimeout(r, 100));
}
