// job.aes256gcm_gbps, job.sha256_gbps: a function job through slices of one adapter, as the driver
// runs it (input in by DMA from a host buffer, the engine, output back; ra-spec §11, §12), against
// node:crypto on the same input in-process. Every output is checked against node:crypto once.
// Beside it, `engineGbps`: the same OpenSSL EVP calls the model's engines make, in one C process
// (ra-bench engine), since node:crypto's own OpenSSL build may be much slower or faster than the
// system's; `engineRatio` = value / engineGbps (issue 13 compares the direct path with that).
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { cReference, MiB, median, result, root, samples } from './stats.mjs';

const { Adapter, DmaController, HostBuffer, ModelProcess, Slices } = await import(
  path.join(root, 'dist/driver/index.js')
);
const { jobBufferBytes, runJob } = await import(path.join(root, 'dist/driver/jobs.js'));
const { loadBitstream } = await import(path.join(root, 'dist/bitstream/loader.js'));

function aes256gcm(key, iv, input) {
  const c = createCipheriv('aes-256-gcm', key, iv);
  return Buffer.concat([c.update(input), c.final(), c.getAuthTag()]);
}

const ALIGN_BYTES = 2 * MiB;

const functions = [
  {
    name: 'job.aes256gcm_gbps',
    fn: 'aes-256-gcm',
    slot: 0,
    reference: (j) => aes256gcm(j.key, j.iv, j.input),
  },
  {
    name: 'job.sha256_gbps',
    fn: 'sha256',
    slot: 1,
    reference: (j) => createHash('sha256').update(j.input).digest(),
  },
];

export async function run({ quick }) {
  const reps = quick ? 3 : 7;
  const inputBytes = (quick ? 16 : 64) * MiB;
  const bufferBytes = jobBufferBytes('aes-256-gcm', inputBytes, undefined);
  const memoryBytes = Math.ceil(bufferBytes / ALIGN_BYTES) * ALIGN_BYTES; // slices are 2 MiB-aligned
  const model = await ModelProcess.start({ adapters: 1, memoryBytes: 2 * memoryBytes });
  const adapter = Adapter.open(model.uri(0));
  const dma = new DmaController(adapter);
  const host = await HostBuffer.create(adapter, bufferBytes);
  try {
    const ownerKey = 0x6a0b5n;
    const slices = new Slices(adapter);
    const memorySlice = await slices.program({ kind: 'memory', ownerKey, base: 0, length: memoryBytes });
    const job = { input: randomBytes(inputBytes), key: randomBytes(32), iv: randomBytes(12) };
    const out = [];
    for (const f of functions) {
      await loadBitstream(adapter, f.slot, path.join(root, `bitstreams/${f.fn}.rabit.json`));
      const engineSlice = await slices.program({
        kind: 'context',
        ownerKey,
        base: 0,
        length: 1,
        slot: f.slot,
      });
      if (f.fn === 'aes-256-gcm') await slices.setKey(engineSlice, ownerKey, job.key);
      const request = {
        fn: f.fn,
        engineEntry: engineSlice,
        memoryEntry: memorySlice,
        memorySliceBytes: memoryBytes,
        ownerKey,
        input: job.input,
        ...(f.fn === 'aes-256-gcm' ? { params: job.iv } : {}),
      };
      const expected = f.reference(job);
      const output = await runJob(dma, adapter.identity.fabricId, host, request);
      if (!output.equals(expected))
        throw new Error(`${f.fn} through the slice differs from node:crypto: the engine is wrong`);
      const slice = await samples(reps, async () => {
        const t0 = process.hrtime.bigint();
        await runJob(dma, adapter.identity.fabricId, host, request);
        return inputBytes / Number(process.hrtime.bigint() - t0);
      });
      const inProcess = await samples(reps, () => {
        const t0 = process.hrtime.bigint();
        f.reference(job);
        return inputBytes / Number(process.hrtime.bigint() - t0);
      });
      const engineGbps = median(cReference('engine', f.fn, inputBytes, reps));
      out.push(
        result(f.name, median(slice), 'GB/s', 'node:crypto in-process, same input', median(inProcess), {
          inputBytes,
          verified: true,
          engineGbps,
          engineRatio: median(slice) / engineGbps,
          note: `the model's engine in one C process (same OpenSSL calls): ${engineGbps.toPrecision(3)} GB/s, ratio ${(median(slice) / engineGbps).toPrecision(3)}×`,
        }),
      );
    }
    return out;
  } finally {
    await host.close();
    dma.close();
    adapter.close();
    await model.stop();
  }
}
