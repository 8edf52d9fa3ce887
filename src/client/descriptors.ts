// Descriptors as a tenant writes them into its window's submission ring (ra-spec §8.2, §18.4):
// locations name granted slices by fabric port and slice index; DESC_OWNER_KEY stays 0, the adapter
// puts the window's key in. The bytes are those of the driver's encodeDescriptor with owner key 0
// (test/access/16 compares the two), written here without the driver's intermediate objects, the
// bigint key and a typed array per descriptor: this is on the way of every polled round trip, where
// each 100 ns counts (ra-spec §18.5; docs/access.md).
import { encodeLocation } from '../driver/dma.js';
import { Desc, Loc, Op } from '../driver/regs.js';
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
  if (d.op === 'job' && (!Number.isInteger(d.ctxSlice) || d.ctxSlice < 0 || d.ctxSlice > 0xffff))
    fail('ctxSlice out of range');
  if (d.op === 'fill' && (!Number.isInteger(d.value) || d.value < 0 || d.value > 0xff))
    fail(`value must be a byte (0..255), got ${d.value}`);
  // §8.3: a location holds the port and the slice in fields of their own; a wider number would be
  // cut to another slice's index, not refused
  checkRef(d.dst, 'dst', fail);
  if (d.op !== 'fill') checkRef(d.src, 'src', fail);
}

function checkRef(ref: SliceRef, what: string, fail: (msg: string) => never): void {
  if (!Number.isInteger(ref?.port) || ref.port < 0 || ref.port > Loc.PORT_MASK)
    fail(`${what}.port must be a fabric port (0..${Loc.PORT_MASK}), got ${ref?.port}`);
  if (!Number.isInteger(ref.slice) || ref.slice < 0 || ref.slice > Loc.SLICE_MASK)
    fail(`${what}.slice must be a slice index (0..${Loc.SLICE_MASK}), got ${ref.slice}`);
}

/** A granted slice as a descriptor location: fabric port and slice index (ra-spec §8.3). */
const location = (ref: SliceRef): number => encodeLocation({ adapter: ref.port, slice: ref.slice });

/** A u64 field from a safe integer (check() made sure) as two u32 stores, as the driver writes it. */
function setU64(v: DataView, at: number, x: number): void {
  v.setUint32(at, x >>> 0, true);
  v.setUint32(at + 4, Math.floor(x / 0x1_0000_0000), true);
}

/**
 * Writes one descriptor (§8.2) at `offset` of `view` (a window's ring): all 64 bytes, whatever the
 * slot held before, DESC_OWNER_KEY 0. Throws GRANT_INVALID before writing anything for a descriptor
 * that cannot be encoded.
 */
export function writeDescriptor(
  view: DataView,
  offset: number,
  d: TenantDescriptor,
  cookie: number,
  chained: boolean,
): void {
  check(d);
  const job = d.op === 'job';
  view.setUint8(offset + Desc.OPCODE, d.op === 'fill' ? Op.FILL : d.op === 'copy' ? Op.COPY : Op.JOB);
  view.setUint8(
    offset + Desc.FLAGS,
    (chained ? Desc.F_CHAIN : 0) | (job && d.inlineKey === true ? Desc.F_INLINE_KEY : 0),
  );
  view.setUint16(offset + Desc.CTX_SLICE, job ? d.ctxSlice : 0, true);
  view.setUint32(offset + Desc.COOKIE, cookie, true);
  view.setUint32(offset + Desc.OWNER_KEY, 0, true);
  view.setUint32(offset + Desc.OWNER_KEY + 4, 0, true);
  view.setUint32(offset + Desc.SRC_LOC, d.op === 'fill' ? 0 : location(d.src), true);
  view.setUint32(offset + Desc.DST_LOC, location(d.dst), true);
  setU64(view, offset + Desc.SRC_OFFSET, d.op === 'fill' ? 0 : d.srcOffset);
  setU64(view, offset + Desc.DST_OFFSET, d.dstOffset);
  setU64(view, offset + Desc.LENGTH, d.bytes);
  for (let k = 0; k < 16; k += 4) view.setUint32(offset + Desc.PARAMS + k, 0, true);
  if (d.op === 'fill') view.setUint8(offset + Desc.PARAMS, d.value);
  else if (job && d.params)
    for (let k = 0; k < d.params.length; k++) view.setUint8(offset + Desc.PARAMS + k, d.params[k]!);
}
