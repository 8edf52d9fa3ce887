// Descriptors as a tenant writes them into its window's submission ring (ra-spec §8.2, §18.4):
// locations name granted slices by fabric port and slice index; DESC_OWNER_KEY stays 0, the adapter
// puts the window's key in.
import { type Descriptor, encodeDescriptor, type JobDescriptor, type Location } from '../driver/dma.js';
import { ClientCode, RaError } from './errors.js';

/** A granted memory slice: the fabric port of its adapter and its slice index there. */
export interface SliceRef {
  port: number;
  slice: number;
}

export type TenantDescriptor =
  | { op: 'copy'; src: SliceRef; srcOffset: number; dst: SliceRef; dstOffset: number; bytes: number }
  | { op: 'fill'; dst: SliceRef; dstOffset: number; bytes: number; value: number }
  | {
      op: 'job';
      /** context or compute slice index on the window's own adapter */
      ctxSlice: number;
      src: SliceRef;
      srcOffset: number;
      dst: SliceRef;
      dstOffset: number;
      bytes: number;
      params?: Uint8Array;
      inlineKey?: boolean;
    };

/** A granted slice as the driver's descriptor location: fabric port and slice index (ra-spec §8.3). */
const at = (ref: SliceRef): Location => ({ adapter: ref.port, slice: ref.slice });

/**
 * The driver's descriptor with owner key 0: the adapter puts the grant's key in (ra-spec §18).
 * Object literals, no spread: a spread of an object holding a bigint took ~4 µs in V8 11 (measured),
 * twice a polled round trip's budget.
 */
function toDriver(d: TenantDescriptor): Descriptor {
  const dst = at(d.dst);
  if (d.op === 'fill')
    return { op: 'fill', ownerKey: 0n, dst, dstOffset: d.dstOffset, bytes: d.bytes, value: d.value };
  const src = at(d.src);
  if (d.op === 'copy')
    return {
      op: 'copy',
      ownerKey: 0n,
      src,
      srcOffset: d.srcOffset,
      dst,
      dstOffset: d.dstOffset,
      bytes: d.bytes,
    };
  const job: JobDescriptor = {
    op: 'job',
    ownerKey: 0n,
    ctxSlice: d.ctxSlice,
    src,
    srcOffset: d.srcOffset,
    dst,
    dstOffset: d.dstOffset,
    bytes: d.bytes,
  };
  if (d.params) job.params = d.params;
  if (d.inlineKey) job.inlineKey = true;
  return job;
}

function check(d: TenantDescriptor): void {
  const fail = (msg: string): never => {
    throw new RaError(ClientCode.GRANT_INVALID, `${d.op} descriptor: ${msg}`);
  };
  if (!Number.isSafeInteger(d.bytes) || d.bytes <= 0)
    fail(`bytes must be a positive integer, got ${d.bytes}`);
  if (!Number.isSafeInteger(d.dstOffset) || d.dstOffset < 0) fail('dstOffset must be a non-negative integer');
  if (d.op !== 'fill' && (!Number.isSafeInteger(d.srcOffset) || d.srcOffset < 0))
    fail('srcOffset must be a non-negative integer');
  if (d.op === 'job' && d.params && d.params.length > 16) fail('params hold at most 16 bytes');
}

/** Writes one descriptor at `offset` of `view` (a window's ring, or the copy staged for it). */
export function writeDescriptor(
  view: DataView,
  offset: number,
  d: TenantDescriptor,
  cookie: number,
  chained: boolean,
): void {
  check(d);
  encodeDescriptor(view, offset, toDriver(d), cookie, chained);
}
