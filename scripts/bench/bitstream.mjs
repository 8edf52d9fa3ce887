// bitstream.load_mbps: a shipped bitstream loaded into a slot end to end — descriptor and image read,
// every check of the loader (schema, hashes, header, signature under the trust policy), staging,
// the adapter's own verification and configuration at its advertised rate (ra-spec §9, §13), and
// the slot read back (state, function, image hash: loadBitstream refuses a mismatch).
// Reference: sha256 of the same image by node:crypto in-process, the least any verified load does.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { median, result, root, samples } from './stats.mjs';

const { Adapter, ModelProcess } = await import(path.join(root, 'dist/driver/index.js'));
const { loadBitstream } = await import(path.join(root, 'dist/bitstream/loader.js'));

const DESCRIPTOR = path.join(root, 'bitstreams/aes-256-gcm.rabit.json');
const IMAGE = path.join(root, 'bitstreams/aes-256-gcm.rabit');

export async function run({ quick }) {
  const reps = quick ? 7 : 21;
  const imageBytes = readFileSync(IMAGE).length;
  const model = await ModelProcess.start({ adapters: 1, memoryBytes: 256 * 1024 * 1024 });
  const adapter = Adapter.open(model.uri(0));
  try {
    const loadSeconds = await samples(reps, async () => {
      const t0 = process.hrtime.bigint();
      // force: the slot holds the previous load's image (no contexts in use, so nothing is evicted)
      await loadBitstream(adapter, 0, DESCRIPTOR, { force: true });
      return Number(process.hrtime.bigint() - t0) / 1e9;
    });
    const image = readFileSync(IMAGE);
    const hashSeconds = await samples(reps, () => {
      const t0 = process.hrtime.bigint();
      createHash('sha256').update(image).digest();
      return Number(process.hrtime.bigint() - t0) / 1e9;
    });
    return [
      result(
        'bitstream.load_mbps',
        imageBytes / median(loadSeconds) / 1e6,
        'MB/s',
        'node:crypto sha256 of the same image, in-process',
        imageBytes / median(hashSeconds) / 1e6,
        { imageBytes, configBytesPerSec: adapter.identity.configBytesPerSec, reps },
      ),
    ];
  } finally {
    adapter.close();
    await model.stop();
  }
}
