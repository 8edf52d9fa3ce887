// The device side of the end-to-end figure alone, outside the suite (a probe, not a figure): a model
// with 64 adapters and one driver loop per adapter programming a 16 MiB memory slice and releasing
// it, as the agent does for one allocate + free. Prints pairs/s, the model's CPU ms per pair, this
// process's (the driver's) CPU ms per pair, the admin commands per pair read from the adapters'
// CMD_DONE_SEQ, and the idle model's CPU ms per second. At the end every slice table must be empty,
// read from the registers.
//   npm run build && node scripts/bench/slice-pairs.mjs [seconds]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GiB, MiB, root } from './stats.mjs';

const { Adapter, ModelProcess, Slices } = await import(path.join(root, 'dist/driver/index.js'));
const { Reg } = await import(path.join(root, 'dist/driver/regs.js'));

const ADAPTERS = 64;
const seconds = Number(process.argv[2] ?? 3);

/** CPU ms (user + system) used so far by process `pid` (/proc/<pid>/stat counts 10 ms ticks). */
const cpuMsOf = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const model = await ModelProcess.start({ adapters: ADAPTERS, memoryBytes: 2 * GiB });
const adapters = model.uris.map((u) => Adapter.open(u));
try {
  let before = cpuMsOf(model.pid);
  await sleep(2000);
  const idleMsPerSec = (cpuMsOf(model.pid) - before) / 2;

  let pairs = 0;
  let stop = false;
  const loop = async (adapter, i) => {
    const slices = new Slices(adapter);
    for (let k = 1; !stop; k++) {
      const ownerKey = (BigInt(i + 1) << 32n) | BigInt(k);
      const entry = await slices.program({ kind: 'memory', ownerKey, base: 0, length: 16 * MiB }, 0);
      await slices.release(entry, ownerKey);
      pairs++;
    }
  };
  const commandsBefore = adapters.map((a) => a.regs.read32(Reg.CMD_DONE_SEQ));
  const self = process.cpuUsage();
  before = cpuMsOf(model.pid);
  const t0 = Date.now();
  const loops = adapters.map(loop);
  await sleep(seconds * 1000);
  stop = true;
  await Promise.all(loops);
  const elapsedSec = (Date.now() - t0) / 1000;
  const modelMs = cpuMsOf(model.pid) - before;
  const driver = process.cpuUsage(self);
  const commands = adapters.reduce(
    (n, a, i) => n + ((a.regs.read32(Reg.CMD_DONE_SEQ) - commandsBefore[i]) >>> 0),
    0,
  );
  const left = adapters.flatMap((a) => new Slices(a).inUse());
  if (left.length > 0) throw new Error(`${left.length} slice(s) left in the adapters' slice tables`);
  console.log(
    JSON.stringify({
      adapters: ADAPTERS,
      pairsPerSec: Math.round(pairs / elapsedSec),
      commandsPerPair: commands / pairs,
      modelCpuMsPerPair: modelMs / pairs,
      driverCpuMsPerPair: (driver.user + driver.system) / 1000 / pairs,
      idleModelCpuMsPerSec: idleMsPerSec,
    }),
  );
} finally {
  for (const a of adapters) a.close();
  await model.stop();
}
