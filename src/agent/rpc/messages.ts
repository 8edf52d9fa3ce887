// Between the GRM's call(method, params) contract (plain JSON values: numbers, hex and base64
// strings) and the typed protobuf messages of agent.proto. protobufjs would coerce a wrong type
// silently ("abc" -> 0 for an integer field), so every parameter is checked against the message's
// own field types first, and a bad one is refused before anything is sent.

import { isCanonicalBase64 } from '../../common/base64.js';
import { AgentCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { type AgentMethod, MAX_MESSAGE_BYTES, MAX_STRING_CHARS, requestFields } from './schema.js';

const fieldsByMethod = new Map<AgentMethod, Map<string, string>>();

function fieldsOf(method: AgentMethod): Map<string, string> {
  let fields = fieldsByMethod.get(method);
  if (!fields) {
    fields = requestFields(method);
    fieldsByMethod.set(method, fields);
  }
  return fields;
}

const invalid = (method: string, message: string) =>
  new RaError(AgentCode.INVALID_PARAMS, `${method}: ${message}`);

/** The request message of `method` for `params`, or AGENT_INVALID_PARAMS naming the bad parameter. */
export function encodeRequest(method: AgentMethod, params: Record<string, unknown>): Record<string, unknown> {
  const fields = fieldsOf(method);
  const message: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const type = fields.get(name);
    if (!type)
      throw invalid(
        method,
        `unknown parameter '${name.slice(0, 64)}' (known: ${[...fields.keys()].join(', ')})`,
      );
    message[name] = checked(method, name, type, value);
  }
  return message;
}

function checked(method: string, name: string, type: string, value: unknown): unknown {
  switch (type) {
    case 'TYPE_STRING':
      if (typeof value !== 'string' || value.length > MAX_STRING_CHARS)
        throw invalid(method, `${name} must be a string of at most ${MAX_STRING_CHARS} characters`);
      return value;
    case 'TYPE_UINT32':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > 0xffff_ffff)
        throw invalid(method, `${name} must be an integer 0..4294967295`);
      return value;
    case 'TYPE_UINT64':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
        throw invalid(method, `${name} must be a non-negative safe integer`);
      return value;
    case 'TYPE_BOOL':
      if (typeof value !== 'boolean') throw invalid(method, `${name} must be true or false`);
      return value;
    case 'TYPE_BYTES': {
      // The in-process contract carries bytes as base64; the wire carries them raw.
      const bytes =
        typeof value === 'string' && isCanonicalBase64(value)
          ? Buffer.from(value, 'base64')
          : Buffer.isBuffer(value)
            ? value
            : undefined;
      if (!bytes) throw invalid(method, `${name} must be base64`);
      if (bytes.length > MAX_MESSAGE_BYTES - 64 * 1024)
        throw invalid(
          method,
          `${name} is ${bytes.length} bytes, over the protocol limit of ${MAX_MESSAGE_BYTES}`,
        );
      return bytes;
    }
    case 'TYPE_MESSAGE':
      // the one message-typed parameter: openWindow's repeated WindowSlice {port, slice} (issue 13)
      if (method === 'openWindow' && name === 'slices' && Array.isArray(value) && value.length <= 64)
        return value.map((s: { port?: unknown; slice?: unknown }, i) => ({
          port: checked(method, `slices[${i}].port`, 'TYPE_UINT32', s?.port),
          slice: checked(method, `slices[${i}].slice`, 'TYPE_UINT32', s?.slice),
        }));
      throw invalid(method, `${name} has type ${type}, which this client cannot send`);
    default:
      throw invalid(method, `${name} has type ${type}, which this client cannot send`);
  }
}

/**
 * A decoded request as the agent's handlers take it (src/agent/agent.ts validates the values):
 * bytes back to base64, every string bounded.
 */
export function requestParams(
  method: AgentMethod,
  message: Record<string, unknown>,
): Record<string, unknown> {
  const fields = fieldsOf(method);
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message)) {
    const type = fields.get(name);
    if (type === 'TYPE_BYTES' && Buffer.isBuffer(value)) params[name] = value.toString('base64');
    else if (type === 'TYPE_STRING' && typeof value === 'string' && value.length > MAX_STRING_CHARS)
      throw invalid(method, `${name} is over ${MAX_STRING_CHARS} characters`);
    else params[name] = value;
  }
  return params;
}

/** A handler's result as its reply message. */
export function encodeReply(method: AgentMethod, result: unknown): unknown {
  if (method === 'runJob') return { output: Buffer.from((result as { output: string }).output, 'base64') };
  if (method === 'inventory' || method === 'openWindow' || method === 'listWindows') return result;
  return {};
}

/** A reply message as the in-process protocol returned it (what the GRM expects). */
export function decodeReply(method: AgentMethod, reply: Record<string, unknown>): unknown {
  if (method === 'runJob') return { output: (reply.output as Buffer).toString('base64') };
  if (method === 'inventory') return reply;
  if (method === 'openWindow') {
    const { memoryPath, ...rest } = reply as { memoryPath?: string };
    return memoryPath ? { ...rest, memoryPath } : rest; // proto3: an absent string arrives as ''
  }
  if (method === 'listWindows') {
    // proto3: an absent string arrives as ''; the in-process protocol leaves it out
    const windows = (reply as { windows: Record<string, unknown>[] }).windows.map((w) =>
      Object.fromEntries(Object.entries(w).filter(([, v]) => v !== '')),
    );
    return { windows };
  }
  return null;
}
