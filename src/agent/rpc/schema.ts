// The agent protocol's one message definition (agent.proto), loaded for both sides, and the limits
// and versions both sides apply. The .proto file is read at run time from the source tree, so the
// built CLI (dist/) and the tests (src/) use the same file.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from '../../driver/native.js';

/** "MAJOR.MINOR": a new major changes meaning, a new minor only adds (docs/cluster.md). */
export const PROTOCOL_VERSION = '2.1';
export const SERVICE_NAME = 'rafabric.agent.v2.Agent';
/** Metadata key on every unary call: the caller's protocol version. */
export const VERSION_METADATA_KEY = 'rafabric-protocol';
/** Metadata keys of an error reply: the RaError code and its details (JSON). */
export const CODE_METADATA_KEY = 'rafabric-code';
export const DETAILS_METADATA_KEY = 'rafabric-details';

/** A job's input or output is at most 32 MiB (src/grm/validate.ts), plus room for the message. */
export const MAX_MESSAGE_BYTES = 40 * 1024 * 1024;
/** Any single string field (adapter ids, keys, names); real ones are well under 300 characters. */
export const MAX_STRING_CHARS = 1024;

/** The GRM-side method names (AgentClient.call) and the gRPC method of each. */
export const rpcMethodOf = {
  inventory: 'Inventory',
  program: 'Program',
  release: 'Release',
  resize: 'Resize',
  load: 'Load',
  runJob: 'RunJob',
  copy: 'Copy',
  openWindow: 'OpenWindow',
  closeWindow: 'CloseWindow',
  listWindows: 'ListWindows',
} as const;
export type AgentMethod = keyof typeof rpcMethodOf;

export function isAgentMethod(name: string): name is AgentMethod {
  return Object.hasOwn(rpcMethodOf, name);
}

/** Deadlines: configuration calls are register work (ms); load, jobs and copies move up to 32 MiB. */
export const CALL_DEADLINE_MS: Record<AgentMethod | 'hello', number> = {
  hello: 5_000,
  inventory: 10_000,
  program: 10_000,
  release: 10_000,
  resize: 10_000,
  load: 120_000,
  runJob: 120_000,
  copy: 120_000,
  openWindow: 10_000,
  closeWindow: 10_000,
  listWindows: 10_000,
};

function protoPath(): string {
  const beside = path.join(path.dirname(fileURLToPath(import.meta.url)), 'agent.proto');
  return existsSync(beside) ? beside : path.join(packageRoot, 'src', 'agent', 'rpc', 'agent.proto');
}

/**
 * camelCase fields (owner_key -> ownerKey, as the in-process protocol names them), 64-bit integers
 * as numbers (sizes and counters stay below 2^53; the agent refuses unsafe integers), request fields
 * present only when sent (every request scalar is `optional`), repeated fields always arrays.
 */
export const loaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: false,
};

export const packageDefinition = protoLoader.loadSync(protoPath(), loaderOptions);

/** Field name (camelCase) -> protobuf type ("TYPE_UINT64", ...) of a method's request message. */
export function requestFields(method: AgentMethod): Map<string, string> {
  const service = packageDefinition[SERVICE_NAME] as protoLoader.ServiceDefinition;
  const type = service[rpcMethodOf[method]]!.requestType.type as unknown as {
    field: { name: string; type: string }[];
  };
  return new Map(
    type.field.map((f) => [f.name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), f.type]),
  );
}

export function parseVersion(text: string): { major: number; minor: number } | undefined {
  const m = /^(\d{1,4})\.(\d{1,4})$/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** Undefined when the two versions can talk; otherwise why not. */
export function incompatibility(ours: string, theirs: string): string | undefined {
  const a = parseVersion(ours);
  const b = parseVersion(theirs);
  if (!b) return `peer sent protocol version '${theirs.slice(0, 40)}', not MAJOR.MINOR`;
  if (!a || a.major !== b.major) return `major versions differ (${ours} here, ${theirs} there)`;
  return undefined;
}
