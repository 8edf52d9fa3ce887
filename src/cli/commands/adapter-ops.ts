// The sequences behind `rafabric adapter run|copy|read|write`: borrow slices, move data by DMA,
// give everything back. Policy-free tooling on top of the driver.

import { loadFunctionIntoFreeSlot } from '../../bitstream/shipped.js';
import { CliCode, DeviceCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { type FunctionName, functionNames, isFunctionName, isSlotFunction } from '../../common/functions.js';
import { randomOwnerKey } from '../../common/owner-key.js';
import { Adapter } from '../../driver/adapter.js';
import { DmaController } from '../../driver/dma.js';
import { HostBuffer } from '../../driver/hostmem.js';
import { jobBufferBytes, matmulParams, runJob } from '../../driver/jobs.js';
import { Slices } from '../../driver/slices.js';
import { Slots } from '../../driver/slots.js';
import { alignExtents, complement, type Extent, roundUp } from '../../rvl/extents.js';
import { parseDims, parseHex } from '../parse.js';

/**
 * Base of the lowest free range of `length` in [0, limit) around the `taken` ranges (from the slice
 * table: the device's truth), on `alignBytes` boundaries (memory slices, ra-spec §5.4 ERR_ALIGN).
 */
function firstFree(
  taken: readonly Extent[],
  limit: number,
  length: number,
  alignBytes = 1,
): number | undefined {
  return alignExtents(complement(taken, limit), alignBytes).extents.find((e) => e.length >= length)?.base;
}

interface Borrowed {
  entry: number;
  key: bigint;
}

/** Reserve+activate, run fn, release (with or without scrub) even when fn fails. */
async function withSlice<T>(
  slices: Slices,
  placement: Parameters<Slices['program']>[0],
  keep: boolean,
  fn: (s: Borrowed) => Promise<T>,
): Promise<T> {
  const entry = await slices.program(placement);
  try {
    return await fn({ entry, key: placement.ownerKey });
  } finally {
    await slices.release(entry, placement.ownerKey, { keepContents: keep }).catch(() => undefined);
  }
}

export interface RunFunctionArgs {
  fn: string;
  input: Uint8Array;
  keyHex?: string;
  ivHex?: string;
  dims?: string;
}

export async function runFunction(
  a: Adapter,
  args: RunFunctionArgs,
): Promise<{ output: Buffer; slot?: number; loaded: boolean }> {
  if (!isFunctionName(args.fn))
    throw new RaError(CliCode.USAGE, `--function: '${args.fn}' is not one of ${functionNames.join(', ')}`);
  if (args.input.length === 0) throw new RaError(CliCode.USAGE, '--in: the input file is empty');
  const fn: FunctionName = args.fn;
  const params = jobParams(fn, args);
  const key = fn === 'aes-256-gcm' ? parseHex('--key', args.keyHex ?? '', 32) : undefined;
  const slices = new Slices(a);
  const slots = new Slots(a);
  const ownerKey = randomOwnerKey();
  let loaded = false;
  let slot: number | undefined;
  let engine: Parameters<Slices['program']>[0];
  if (!isSlotFunction(fn)) {
    const taken = slices.inUse().filter((s) => s.kind === 'compute');
    const base = firstFree(taken, a.identity.computeUnits, 1);
    if (base === undefined) throw new RaError(DeviceCode.NO_RESOURCE, 'every compute unit is in use');
    engine = { kind: 'compute', ownerKey, base, length: 1 };
  } else {
    let info = slots.find(fn);
    if (!info) {
      info = (await loadFunctionIntoFreeSlot(a, fn)).slot;
      loaded = true;
    }
    slot = info.index;
    const taken = slices.inUse().filter((s) => s.kind === 'context' && s.slot === info!.index);
    const base = firstFree(taken, info.contexts, 1);
    if (base === undefined)
      throw new RaError(DeviceCode.NO_RESOURCE, `every context of slot ${info.index} is in use`);
    engine = { kind: 'context', ownerKey, base, length: 1, slot: info.index };
  }
  const memBytes = roundUp(jobBufferBytes(fn, args.input.length, params), a.identity.memoryAlignBytes);
  const memBase = firstFree(
    slices.inUse().filter((s) => s.kind === 'memory'),
    a.identity.memoryBytes,
    memBytes,
    a.identity.memoryAlignBytes,
  );
  if (memBase === undefined)
    throw new RaError(DeviceCode.NO_RESOURCE, `no free ${memBytes}-byte memory extent`);

  const dma = new DmaController(a);
  let host: HostBuffer | undefined;
  try {
    host = await HostBuffer.create(a, jobBufferBytes(fn, args.input.length, params));
    const buffer = host;
    const output = await withSlice(slices, engine, false, (e) =>
      withSlice(slices, { kind: 'memory', ownerKey, base: memBase, length: memBytes }, false, async (m) => {
        if (key) await slices.setKey(e.entry, ownerKey, key);
        return runJob(dma, a.identity.fabricId, buffer, {
          fn,
          engineEntry: e.entry,
          memoryEntry: m.entry,
          memorySliceBytes: memBytes,
          ownerKey,
          input: args.input,
          ...(params ? { params } : {}),
        });
      }),
    );
    return { output, ...(slot !== undefined ? { slot } : {}), loaded };
  } finally {
    await host?.close();
    dma.close();
  }
}

function jobParams(fn: FunctionName, args: RunFunctionArgs): Uint8Array | undefined {
  if (fn === 'aes-256-gcm') return parseHex('--iv', args.ivHex ?? '', 12);
  if (fn !== 'matmul-f32') return undefined;
  const { m, n, k } = parseDims('--dims', args.dims ?? '');
  if (args.input.length !== (m * k + k * n) * 4) {
    throw new RaError(
      CliCode.USAGE,
      `--in: matmul ${m}x${k} by ${k}x${n} needs ${(m * k + k * n) * 4} bytes of f32, got ${args.input.length}`,
    );
  }
  return matmulParams(m, n, k);
}

/** Borrow the aligned memory window around [offset, offset+bytes) with a temporary slice. */
async function withRawMemory<T>(
  a: Adapter,
  offset: number,
  bytes: number,
  ownerKey: bigint,
  fn: (slice: number, offsetInSlice: number) => Promise<T>,
): Promise<T> {
  const align = a.identity.memoryAlignBytes;
  if (offset + bytes > a.identity.memoryBytes) {
    throw new RaError(
      DeviceCode.BOUNDS,
      `${a.uri}: [${offset}, ${offset + bytes}) is beyond the ${a.identity.memoryBytes}-byte adapter memory`,
    );
  }
  const base = Math.floor(offset / align) * align;
  const length = roundUp(offset + bytes, align) - base;
  const slices = new Slices(a);
  try {
    return await withSlice(slices, { kind: 'memory', ownerKey, base, length }, true, (s) =>
      fn(s.entry, offset - base),
    );
  } catch (err) {
    if ((err as RaError).code === DeviceCode.OVERLAP) {
      throw new RaError(
        DeviceCode.OVERLAP,
        `${a.uri}: memory at [${offset}, ${offset + bytes}) belongs to an allocated slice; free it first`,
      );
    }
    throw err;
  }
}

/** A DMA queue and a host buffer of `bytes` for fn; both are given back whatever happens. */
async function withDma<T>(
  a: Adapter,
  bytes: number,
  fn: (dma: DmaController, host: HostBuffer) => Promise<T>,
): Promise<T> {
  const dma = new DmaController(a);
  try {
    const host = await HostBuffer.create(a, bytes);
    try {
      return await fn(dma, host);
    } finally {
      await host.close();
    }
  } finally {
    dma.close();
  }
}

export async function readMemory(a: Adapter, offset: number, bytes: number): Promise<Buffer> {
  const ownerKey = randomOwnerKey();
  return withDma(a, bytes, (dma, host) =>
    withRawMemory(a, offset, bytes, ownerKey, async (slice, at) => {
      await dma.submit({
        op: 'copy',
        ownerKey,
        src: { adapter: a.identity.fabricId, slice },
        srcOffset: at,
        dst: { host: host.handle },
        dstOffset: 0,
        bytes,
      });
      return Buffer.from(host.bytes.subarray(0, bytes));
    }),
  );
}

export async function writeMemory(a: Adapter, offset: number, data: Uint8Array): Promise<void> {
  if (data.length === 0) throw new RaError(CliCode.USAGE, 'nothing to write');
  const ownerKey = randomOwnerKey();
  await withDma(a, data.length, (dma, host) => {
    host.bytes.set(data);
    return withRawMemory(a, offset, data.length, ownerKey, (slice, at) =>
      dma.submit({
        op: 'copy',
        ownerKey,
        src: { host: host.handle },
        srcOffset: 0,
        dst: { adapter: a.identity.fabricId, slice },
        dstOffset: at,
        bytes: data.length,
      }),
    );
  });
}

export async function copyBetweenAdapters(
  src: { uri: string; offset: number },
  dst: { uri: string; offset: number },
  bytes: number,
): Promise<{ bytes: number; seconds: number; bytesPerSec: number }> {
  const ownerKey = randomOwnerKey();
  const a = Adapter.open(src.uri);
  let b: Adapter | undefined;
  let dma: DmaController | undefined;
  try {
    b = src.uri === dst.uri ? a : Adapter.open(dst.uri);
    dma = new DmaController(a);
    const [to, queue] = [b, dma];
    return await withRawMemory(a, src.offset, bytes, ownerKey, (srcSlice, srcAt) =>
      withRawMemory(to, dst.offset, bytes, ownerKey, async (dstSlice, dstAt) => {
        const t0 = process.hrtime.bigint();
        await queue.submit({
          op: 'copy',
          ownerKey,
          src: { adapter: a.identity.fabricId, slice: srcSlice },
          srcOffset: srcAt,
          dst: { adapter: to.identity.fabricId, slice: dstSlice },
          dstOffset: dstAt,
          bytes,
        });
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        return { bytes, seconds, bytesPerSec: bytes / seconds };
      }),
    );
  } finally {
    dma?.close();
    a.close();
    if (b && b !== a) b.close();
  }
}
