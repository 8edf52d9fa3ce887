// Descriptors as a tenant writes them into its window's submission ring (ra-spec §8.2, §18.4):
// locations name granted slices by fabric port and slice index; DESC_OWNER_KEY stays 0, the adapter
// puts the window's key in.
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

const opcodes = { copy: Op.COPY, fill: Op.FILL, job: Op.JOB } as const;

function location(ref: SliceRef): number {
  return (
    ((Loc.ADAPTER << Loc.KIND_SHIFT) |
      ((ref.port & Loc.PORT_MASK) << Loc.PORT_SHIFT) |
      (ref.slice & Loc.SLICE_MASK)) >>>
    0
  );
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

/** Writes one descriptor at `at` of `view` (the window mapping). */
export function writeDescriptor(
  view: DataView,
  at: number,
  d: TenantDescriptor,
  cookie: number,
  chained: boolean,
): void {
  check(d);
  new Uint8Array(view.buffer, at, Desc.BYTES).fill(0);
  view.setUint8(at + Desc.OPCODE, opcodes[d.op]);
  const inlineKey = d.op === 'job' && d.inlineKey === true ? Desc.F_INLINE_KEY : 0;
  view.setUint8(at + Desc.FLAGS, (chained ? Desc.F_CHAIN : 0) | inlineKey);
  view.setUint16(at + Desc.CTX_SLICE, d.op === 'job' ? d.ctxSlice : 0, true);
  view.setUint32(at + Desc.COOKIE, cookie, true);
  if (d.op !== 'fill') {
    view.setUint32(at + Desc.SRC_LOC, location(d.src), true);
    view.setBigUint64(at + Desc.SRC_OFFSET, BigInt(d.srcOffset), true);
  }
  view.setUint32(at + Desc.DST_LOC, location(d.dst), true);
  view.setBigUint64(at + Desc.DST_OFFSET, BigInt(d.dstOffset), true);
  view.setBigUint64(at + Desc.LENGTH, BigInt(d.bytes), true);
  if (d.op === 'fill') view.setUint8(at + Desc.PARAMS, d.value);
  if (d.op === 'job' && d.params) new Uint8Array(view.buffer, at + Desc.PARAMS, 16).set(d.params);
}
