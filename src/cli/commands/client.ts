// `rafabric adapters|alloc|free|exec`: a client of a running GRM over its HTTP API.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { MAX_EXACT_INTEGER, MAX_POLICY_MS } from '../../common/schema/model.js';
import { type ApiSchemas, call, type GrmAddress } from '../grm-client.js';
import { formatBytes, formatTable, printJson } from '../output.js';
import { checkFunctionFlags, parseDims, parseInteger, parseSize, readFlagFile } from '../parse.js';

interface ClientOptions extends GrmAddress {
  json?: boolean;
}

const common = (c: Command) =>
  c
    .option('--url <url>', 'GRM address', process.env.RAFABRIC_URL ?? 'http://127.0.0.1:7470')
    .option('--token <token>', 'tenant token (default: $RAFABRIC_TOKEN)')
    .option('--json', 'machine-readable output');

/**
 * "memory=16G", "accelerator=aes-256-gcm", "compute=2", "logic=pipeline-xor-crc" -> resource. Sizes
 * and counts are checked here (a bad one is refused before the GRM is asked); names are the GRM's to check.
 */
export function parseResource(text: string): ApiSchemas['ResourceRequest'] {
  const eq = text.indexOf('=');
  const kind = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? '' : text.slice(eq + 1);
  if (value === '')
    throw new RaError(
      CliCode.USAGE,
      `--resource: '${text}' must look like memory=16G, compute=2, accelerator=aes-256-gcm or logic=BITSTREAM`,
    );
  if (kind === 'memory') return { kind, bytes: parseSize('--resource memory', value) };
  if (kind === 'compute')
    return { kind, units: parseInteger('--resource compute', value, 1, MAX_EXACT_INTEGER) };
  // The GRM checks the function name and answers with the ones it knows.
  if (kind === 'accelerator')
    return { kind, function: value as ApiSchemas['AcceleratorRequest']['function'] };
  if (kind === 'logic') return { kind, bitstream: value };
  throw new RaError(
    CliCode.USAGE,
    `--resource: unknown kind '${kind}' (memory, compute, accelerator, logic)`,
  );
}

/** alloc's request body from its flags, every one checked before the GRM is contacted. */
function allocationRequest(o: {
  resource: string[];
  sameServer?: string;
  lease?: string;
}): ApiSchemas['AllocationRequest'] {
  const resources = o.resource.map(parseResource);
  const policy = {
    ...(o.sameServer ? { sameServer: o.sameServer } : {}),
    ...(o.lease !== undefined ? { leaseMs: parseInteger('--lease', o.lease, 1, MAX_POLICY_MS) } : {}),
  };
  return { resources, ...(Object.keys(policy).length ? { policy } : {}) };
}

export function registerClientCommands(program: Command): void {
  common(
    program.command('adapters').description('list the pool: capacity, free space and slices per adapter'),
  ).action(async (o: ClientOptions) => {
    const adapters = await call(o, (api) => api.GET('/v1/adapters'));
    if (o.json) return printJson(adapters);
    process.stdout.write(
      `${formatTable(
        ['adapter', 'health', 'memory free', 'compute free', 'slots free', 'slices'],
        adapters.map((a) => [
          a.id,
          a.health,
          `${formatBytes(a.memory.free)} / ${formatBytes(a.memory.total)}`,
          `${a.computeUnits.free}/${a.computeUnits.total}`,
          `${a.slots.free}/${a.slots.total}`,
          a.slices.length,
        ]),
      )}\n`,
    );
  });

  common(
    program
      .command('alloc')
      .description('allocate resources, e.g. --resource memory=16G --resource accelerator=aes-256-gcm'),
  )
    .requiredOption(
      '--resource <spec...>',
      'memory=BYTES | compute=UNITS | accelerator=FUNCTION | logic=BITSTREAM',
    )
    .option('--same-server <server>', 'prefer adapters on this server')
    .option('--lease <ms>', 'release automatically this many ms after allocation')
    .action(async (o: ClientOptions & { resource: string[]; sameServer?: string; lease?: string }) => {
      const body = allocationRequest(o);
      const a = await call(o, (api) => api.POST('/v1/allocations', { body }));
      if (o.json) return printJson(a);
      process.stdout.write(
        `allocation ${a.id}\n${formatTable(
          ['resource', 'kind', 'adapter', 'slice', 'placement'],
          a.resources.flatMap((r, i) =>
            r.placements.map((p) => [
              i,
              r.kind,
              p.adapter,
              p.slice,
              p.bytes !== undefined
                ? `${formatBytes(Number(p.offset))} +${formatBytes(Number(p.bytes))}`
                : p.units !== undefined
                  ? `${p.units} unit(s)`
                  : `slot ${p.slot}`,
            ]),
          ),
        )}\n`,
      );
    });

  common(program.command('free <id>').description('release an allocation')).action(
    async (id: string, o: ClientOptions) => {
      await call(o, (api) => api.DELETE('/v1/allocations/{id}', { params: { path: { id } } }));
      if (o.json) printJson({ released: id });
      else process.stdout.write(`released ${id}\n`);
    },
  );

  common(
    program
      .command('exec <id>')
      .description('run a job on an allocation: input from a file, output to a file'),
  )
    .requiredOption('--function <name>', 'aes-256-gcm, sha256, crc32c, pipeline or matmul-f32')
    .requiredOption('--in <file>', 'input file')
    .requiredOption('--out <file>', 'output file')
    .option('--key <hex>', 'aes-256-gcm key (64 hex digits)')
    .option('--iv <hex>', 'aes-256-gcm IV (24 hex digits)')
    .option('--dims <m,n,k>', 'matmul-f32: C (m x n) = A (m x k) by B (k x n); --in holds A then B, f32 LE')
    .action(
      async (
        id: string,
        o: ClientOptions & {
          function: string;
          in: string;
          out: string;
          key?: string;
          iv?: string;
          dims?: string;
        },
      ) => {
        checkFunctionFlags(o.function, o);
        const input = readFlagFile('--in', o.in);
        const params =
          o.dims !== undefined
            ? parseDims('--dims', o.dims)
            : o.key || o.iv
              ? { key: o.key, iv: o.iv }
              : undefined;
        // Sent as typed on the command line: the GRM checks the function and its params against the
        // document's JobRequest and names what is wrong.
        const body = {
          function: o.function,
          ...(params ? { params } : {}),
          input: input.toString('base64'),
        } as ApiSchemas['JobRequest'];
        const r = await call(o, (api) =>
          api.POST('/v1/allocations/{id}/jobs', { params: { path: { id } }, body }),
        );
        const out = Buffer.from(r.output, 'base64');
        writeFileSync(o.out, out);
        if (o.json)
          printJson({
            allocation: id,
            function: o.function,
            inputBytes: input.length,
            outputBytes: out.length,
          });
        else
          process.stdout.write(
            `${o.function}: ${input.length} bytes in, ${out.length} bytes out -> ${o.out}\n`,
          );
      },
    );
}
