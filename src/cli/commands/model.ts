// `rafabric model`: runs the embedded device model in the foreground (the low-level tool).
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { log } from '../../common/log.js';
import { ModelProcess } from '../../driver/model-process.js';
import { parseInteger, parseSize } from '../parse.js';

export function registerModelCommand(program: Command): void {
  program
    .command('model')
    .description('start the RA device model: serves DIR/ra0.sock .. DIR/ra<N-1>.sock until SIGTERM')
    .requiredOption('--adapters <n>', 'number of adapters (1..64)')
    .requiredOption('--dir <dir>', 'folder for sockets, register files and memory files (created if missing)')
    .option('--memory <bytes>', 'on-card memory per adapter (e.g. 8G)', '8G')
    .option('--slots <n>', 'programmable slots per adapter', '4')
    .option('--compute-units <n>', 'hardened compute units per adapter', '16')
    .option('--config-rate <bytes>', 'configuration port speed in bytes per second (e.g. 1G)', '1000000000')
    .action(async (o: Record<string, string>) => {
      // Every flag is checked before the folder is made: a refused command leaves nothing behind.
      const options = {
        adapters: parseInteger('--adapters', o.adapters!, 1, 64),
        dir: o.dir!,
        memoryBytes: parseSize('--memory', o.memory!),
        slots: parseInteger('--slots', o.slots!, 1, 32),
        computeUnits: parseInteger('--compute-units', o.computeUnits!, 0, 4096),
        configBytesPerSec: parseSize('--config-rate', o.configRate!),
        dieWithParent: true,
      };
      mkdirSync(options.dir, { recursive: true });
      const model = await ModelProcess.start(options);
      process.stdout.write(`rafabric model: ready, ${model.adapters} adapter(s): ${model.uris.join(' ')}\n`);
      log.info({ modelPid: model.pid, dir: model.dir, adapters: model.adapters }, 'device model started');
      const stop = (signal: string) => {
        log.info({ signal }, 'stopping the device model');
        void model.stop();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      const code = await model.waitExit();
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      if (code !== 0) {
        process.stderr.write(
          `rafabric model: device model exited with ${code}: ${model.lastStderr.trim()}\n`,
        );
        process.exitCode = 1;
      }
    });
}
