// Reading the agent protocol's parameters (plain JSON values: numbers, hex and base64 strings), shared
// by the host agent and the QEMU guest agent. Every check throws AGENT_INVALID_PARAMS naming the
// parameter, before anything changes on an adapter.
import { AgentCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import type { FunctionName } from '../common/functions.js';
import { isOwnerKeyHex, ownerKeyOf } from '../common/owner-key.js';
import { matmulParams } from '../driver/jobs.js';

export function ownerKeyParam(params: Record<string, unknown>): bigint {
  const k = params.ownerKey;
  if (!isOwnerKeyHex(k)) throw new RaError(AgentCode.INVALID_PARAMS, 'ownerKey must be 16 hex digits');
  return ownerKeyOf(k);
}

export function bytesParam(
  params: Record<string, unknown>,
  name: string,
  encoding: 'hex' | 'base64',
  pattern: RegExp,
): Buffer {
  const v = params[name];
  if (typeof v !== 'string' || !pattern.test(v))
    throw new RaError(AgentCode.INVALID_PARAMS, `${name} must be ${encoding}`);
  return Buffer.from(v, encoding);
}

export function intParam(params: Record<string, unknown>, name: string): number {
  const v = params[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new RaError(AgentCode.INVALID_PARAMS, `${name} must be a non-negative integer`);
  return v;
}

/** Largest matmul dimension the protocol carries: the descriptor holds each as a u32 (ra-spec §12). */
const MAX_DIM = 0xffff_ffff;

/**
 * The descriptor's parameter bytes for a job (ra-spec §12), encoded here from the protocol's named
 * fields so that the GRM never encodes driver structures: aes-256-gcm takes `iv` (24 hex digits),
 * matmul-f32 takes `m`, `n`, `k`; the other functions take none.
 */
export function jobParamsOf(fn: FunctionName, p: Record<string, unknown>): Buffer | undefined {
  const given = ['iv', 'm', 'n', 'k'].filter((name) => p[name] !== undefined);
  const takes = fn === 'aes-256-gcm' ? ['iv'] : fn === 'matmul-f32' ? ['m', 'n', 'k'] : [];
  const foreign = given.filter((name) => !takes.includes(name));
  if (foreign.length > 0)
    throw new RaError(AgentCode.INVALID_PARAMS, `${fn} jobs take no ${foreign.join(', ')}`);
  if (fn === 'aes-256-gcm') return bytesParam(p, 'iv', 'hex', /^[0-9a-fA-F]{24}$/);
  if (fn !== 'matmul-f32') return undefined;
  const [m, n, k] = takes.map((name) => {
    const v = intParam(p, name);
    if (v < 1 || v > MAX_DIM) throw new RaError(AgentCode.INVALID_PARAMS, `${name} must be 1 to ${MAX_DIM}`);
    return v;
  }) as [number, number, number];
  return matmulParams(m, n, k);
}
