// Reading the agent protocol's parameters (plain JSON values: numbers, hex and base64 strings), shared
// by the host agent and the QEMU guest agent. Every check throws AGENT_INVALID_PARAMS naming the
// parameter, before anything changes on an adapter.
import { AgentCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { type FunctionName, isFunctionName } from '../common/functions.js';
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

/** runJob's parameters as both agents read them (src/agent/agent.ts, the QEMU guest's guest-jobs.ts). */
export interface JobParams {
  fn: FunctionName;
  input: Buffer;
  /** aes-256-gcm: the job's own key, carried in its slice (ra-spec §12.1, DESC_F_INLINE_KEY). */
  key: Buffer | undefined;
  /** The descriptor's parameter bytes (ra-spec §12). */
  params: Buffer | undefined;
  ownerKey: bigint;
  engineEntry: number;
  memoryEntry: number;
}

/** Every runJob parameter checked, before anything changes on an adapter. */
export function jobParams(p: Record<string, unknown>): JobParams {
  const fn = p.function;
  if (!isFunctionName(fn)) throw new RaError(AgentCode.INVALID_PARAMS, `unknown function ${String(fn)}`);
  const input = bytesParam(p, 'input', 'base64', /^[A-Za-z0-9+/]+={0,2}$/);
  const key = p.key === undefined ? undefined : bytesParam(p, 'key', 'hex', /^[0-9a-fA-F]{64}$/);
  // The key goes with the job (ra-spec §12.1, DESC_F_INLINE_KEY), never to the shared context:
  // two jobs in flight on one context would otherwise run under whichever key was set last.
  if (fn === 'aes-256-gcm' && !key)
    throw new RaError(AgentCode.INVALID_PARAMS, 'aes-256-gcm jobs need key (64 hex digits)');
  return {
    fn,
    input,
    key,
    params: jobParamsOf(fn, p),
    ownerKey: ownerKeyParam(p),
    engineEntry: intParam(p, 'engineEntry'),
    memoryEntry: intParam(p, 'memoryEntry'),
  };
}
