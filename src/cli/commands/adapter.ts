// `rafabric adapter ...`: the low-level tool for people working on one adapter (like xbutil or
// OPAE's fpgaconf): info, dump, run, copy, read, write.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { functionNames } from '../../common/functions.js';
import { Adapter } from '../../driver/adapter.js';
import { readQueueStatus } from '../../driver/dma.js';
import { Slices } from '../../driver/slices.js';
import { Slots } from '../../driver/slots.js';
import { formatBytes, formatTable, printJson } from '../output.js';
import { checkFunctionFlags, parseSize, parseUriAt } from '../parse.js';
import { copyBetweenAdapters, readMemory, runFunction, writeMemory } from './adapter-ops.js';

async function withAdapter<T>(uri: string, fn: (a: Adapter) => Promise<T>): Promise<T> {
  const adapter = Adapter.open(uri);
  try {
    return await fn(adapter);
  } finally {
    adapter.close();
  }
}

export function registerAdapterCommands(program: Command): void {
  const cmd = program
    .command('adapter')
    .description('inspect and drive one adapter directly (low-level tool)');

  cmd
    .command('info <uri>')
    .description('identity, capabilities and status')
    .option('--json', 'machine-readable output')
    .action((uri: string, o: { json?: boolean }) =>
      withAdapter(uri, async (a) => {
        const info = { ...a.identity, status: a.status() };
        if (o.json) return printJson(info);
        const id = a.identity;
        const rows: [string, unknown][] = [
          ['uri', id.uri],
          ['spec version', id.specVersion],
          ['fabric port', `${id.fabricId} of ${id.fabricPorts}`],
          ['serial', id.serial],
          ['memory', `${formatBytes(id.memoryBytes)} (align ${formatBytes(id.memoryAlignBytes)})`],
          ['slots', `${id.slots} x ${formatBytes(id.slotBytes)}`],
          ['compute units', id.computeUnits],
          ['contexts per engine', id.contextsPerEngine],
          ['slice entries', id.slices],
          ['dma queues', `${id.queues} x ${id.ringDepth} entries`],
          ['config rate', `${formatBytes(id.configBytesPerSec)}/s`],
          [
            'status',
            Object.entries(info.status)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          ],
        ];
        process.stdout.write(`${formatTable(['field', 'value'], rows)}\n`);
      }),
    );

  cmd
    .command('dump <uri>')
    .description('registers, queues, slots and slices in use')
    .option('--json', 'machine-readable output')
    .action((uri: string, o: { json?: boolean }) =>
      withAdapter(uri, async (a) => {
        const slots = new Slots(a).list();
        const slices = new Slices(a).inUse();
        const queues = Array.from({ length: a.identity.queues }, (_, q) => readQueueStatus(a, q));
        if (o.json) return printJson({ identity: a.identity, status: a.status(), queues, slots, slices });
        const out = process.stdout;
        out.write(`adapter ${uri}\nstatus: ${JSON.stringify(a.status())}\n\nqueues\n`);
        out.write(
          `${formatTable(
            ['q', 'owner', 'sq tail', 'sq head', 'cq tail', 'cq head', 'completed', 'errors'],
            queues.map((q) => [
              q.queue,
              q.owner < 0 ? '-' : q.owner,
              q.sqTail,
              q.sqHead,
              q.cqTail,
              q.cqHead,
              q.completed,
              q.errors,
            ]),
          )}\n\nslots\n`,
        );
        out.write(
          `${formatTable(
            ['slot', 'state', 'function', 'image', 'contexts', 'loads'],
            slots.map((s) => [
              s.index,
              s.state,
              s.function,
              s.imageName || undefined,
              `${s.contextsUsed}/${s.contexts}`,
              s.loads,
            ]),
          )}\n\nslices in use\n`,
        );
        out.write(
          `${formatTable(
            ['entry', 'state', 'kind', 'base', 'length', 'slot', 'bytes moved', 'jobs', 'busy ms'],
            slices.map((s) => [
              s.entry,
              s.state,
              s.kind,
              s.base,
              s.length,
              s.slot,
              s.bytesMoved,
              s.jobs,
              (s.busyNs / 1e6).toFixed(3),
            ]),
          )}\n`,
        );
      }),
    );

  cmd
    .command('run <uri>')
    .description(
      'run a function engine on a file: loads the image if needed, takes slices, DMA in, run, DMA out, release',
    )
    .requiredOption('--function <name>', `one of ${functionNames.join(', ')}`)
    .requiredOption('--in <file>', 'input file')
    .requiredOption(
      '--out <file>',
      'output file (aes-256-gcm: ciphertext||tag; sha256: digest; crc32c: 4 bytes LE; pipeline: what the ' +
        "slot's pipeline image makes of it; matmul-f32: C, m x n f32 LE)",
    )
    .option('--key <hex>', 'aes-256-gcm key, 64 hex digits')
    .option('--iv <hex>', 'aes-256-gcm IV, 24 hex digits')
    .option('--dims <m,n,k>', 'matmul-f32: C (m x n) = A (m x k) by B (k x n); --in holds A then B, f32 LE')
    .option('--json', 'print a summary as JSON')
    .action((uri: string, o: Record<string, string | boolean>) => {
      checkFunctionFlags(String(o.function), o);
      return withAdapter(uri, async (a) => {
        const input = readFileSync(String(o.in));
        const result = await runFunction(a, {
          fn: String(o.function),
          input,
          ...(o.key ? { keyHex: String(o.key) } : {}),
          ...(o.iv ? { ivHex: String(o.iv) } : {}),
          ...(o.dims ? { dims: String(o.dims) } : {}),
        });
        writeFileSync(String(o.out), result.output);
        const summary = {
          function: o.function,
          inputBytes: input.length,
          outputBytes: result.output.length,
          slot: result.slot,
          loadedImage: result.loaded,
        };
        if (o.json) printJson(summary);
        else
          process.stdout.write(
            `${o.function}: ${input.length} bytes in, ${result.output.length} bytes out (slot ${result.slot ?? '-'}${result.loaded ? ', image loaded' : ''}) -> ${o.out}\n`,
          );
      });
    });

  cmd
    .command('copy <src> <dst>')
    .description('DMA between adapters: SRC_URI@OFFSET DST_URI@OFFSET (absolute adapter memory offsets)')
    .requiredOption('--bytes <n>', 'bytes to copy (e.g. 64M)')
    .option('--json', 'machine-readable output')
    .action(async (src: string, dst: string, o: { bytes: string; json?: boolean }) => {
      const s = parseUriAt('SRC', src);
      const d = parseUriAt('DST', dst);
      const bytes = parseSize('--bytes', o.bytes);
      const r = await copyBetweenAdapters(s, d, bytes);
      if (o.json) printJson(r);
      else
        process.stdout.write(
          `copied ${bytes} bytes in ${r.seconds.toFixed(6)} s (${(r.bytesPerSec / 1e9).toFixed(2)} GB/s)\n`,
        );
    });

  cmd
    .command('read <uriAtOffset>')
    .description('read adapter memory at URI@OFFSET')
    .requiredOption('--bytes <n>', 'bytes to read')
    .option('--out <file>', 'write to a file instead of printing hex')
    .action(async (target: string, o: { bytes: string; out?: string }) => {
      const t = parseUriAt('URI@OFFSET', target);
      const data = await withAdapter(t.uri, (a) => readMemory(a, t.offset, parseSize('--bytes', o.bytes)));
      if (o.out) writeFileSync(o.out, data);
      else process.stdout.write(`${data.toString('hex')}\n`);
    });

  cmd
    .command('write <uriAtOffset>')
    .description('write adapter memory at URI@OFFSET from a file or hex')
    .option('--in <file>', 'input file')
    .option('--hex <hex>', 'bytes as hex digits')
    .action(async (target: string, o: { in?: string; hex?: string }) => {
      const t = parseUriAt('URI@OFFSET', target);
      if (!o.in === !o.hex) throw new Error('give exactly one of --in FILE or --hex HEX');
      if (o.hex !== undefined && !/^([0-9a-fA-F]{2})+$/.test(o.hex)) {
        throw new RaError(
          DriverCode.INVALID_ARGUMENT,
          '--hex: expected an even number of hex digits, e.g. 0badc0de',
        );
      }
      const data = o.in ? readFileSync(o.in) : Buffer.from(o.hex!, 'hex');
      await withAdapter(t.uri, (a) => writeMemory(a, t.offset, data));
      process.stdout.write(`wrote ${data.length} bytes at ${t.offset}\n`);
    });
}
