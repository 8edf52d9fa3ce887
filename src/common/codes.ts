// Every RaError code of every layer, in one place, each set owned by one layer. The sets are
// disjoint (no code string means two things): a layer whose codes would collide with another's
// prefixes them (STORE_, AGENT_, BITSTREAM_). The HTTP layer maps every code to a status in its one
// table (src/api/errors.ts), keyed by `AnyCode` so that a new code that is not mapped fails the
// typecheck; test/unit/30.error-codes.test.ts checks the sets' properties.

/**
 * Datasheet errors (ra-spec §15), the adapter's answers in ERR/completion status. The names are those
 * of `native/include/ra_regs.h` (RA_ERR_*); test/unit/30.error-codes.test.ts fails when they drift
 * from the generated `Err` in src/driver/regs.ts.
 */
export const DeviceCode = {
  BAD_OPCODE: 'BAD_OPCODE',
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  NOT_LOCKED: 'NOT_LOCKED',
  SLOT_BUSY: 'SLOT_BUSY',
  SLOT_STATE: 'SLOT_STATE',
  SLICE_STATE: 'SLICE_STATE',
  OWNER_KEY: 'OWNER_KEY',
  BOUNDS: 'BOUNDS',
  OVERLAP: 'OVERLAP',
  NO_RESOURCE: 'NO_RESOURCE',
  IMG_MAGIC: 'IMG_MAGIC',
  IMG_SPEC: 'IMG_SPEC',
  IMG_HASH: 'IMG_HASH',
  IMG_SIZE: 'IMG_SIZE',
  IMG_FUNCTION: 'IMG_FUNCTION',
  FUNCTION: 'FUNCTION',
  HOSTMEM: 'HOSTMEM',
  FABRIC: 'FABRIC',
  FAULT_INJECTED: 'FAULT_INJECTED',
  LOAD_FAILED: 'LOAD_FAILED',
  QUEUE: 'QUEUE',
  JOB_PARAMS: 'JOB_PARAMS',
  ALIGN: 'ALIGN',
} as const;

/** Codes the driver itself raises (no datasheet number). */
export const DriverCode = {
  /** The adapter did not answer in time. */
  TIMEOUT: 'TIMEOUT',
  /** The adapter's connection closed (model exited, surprise removal). */
  ADAPTER_GONE: 'ADAPTER_GONE',
  /** The heartbeat stopped. */
  ADAPTER_HUNG: 'ADAPTER_HUNG',
  /** Used after close(). */
  CLOSED: 'CLOSED',
  OPEN_FAILED: 'OPEN_FAILED',
  /** Another client held the admin mailbox too long. */
  LOCK_TIMEOUT: 'LOCK_TIMEOUT',
  /** Every DMA queue is owned by another client. */
  NO_QUEUE: 'NO_QUEUE',
  /** Rejected before touching a register (also the CLI's and key tools' usage errors). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The host buffer's file system has no room for it. */
  NO_SPACE: 'NO_SPACE',
  /** The adapter answered a status number this driver does not know. */
  UNKNOWN_DEVICE_ERROR: 'UNKNOWN_DEVICE_ERROR',
} as const;

/**
 * The client's request is malformed. Raised by the GRM and by the RVL, which validates the resource
 * part of a request on the GRM's behalf (one place for placement rules): one meaning, one code.
 */
export const RequestCode = {
  INVALID_REQUEST: 'INVALID_REQUEST',
} as const;

/** The GRM's own codes (besides INVALID_REQUEST). */
const GrmOwnCode = {
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** Authenticated, but this tenant may not do that (operators only). */
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  RESOURCE_UNAVAILABLE: 'RESOURCE_UNAVAILABLE',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  ADAPTER_FAILURE: 'ADAPTER_FAILURE',
  /** The allocation lost an adapter: it answers GET and DELETE only. */
  ALLOCATION_LOST: 'ALLOCATION_LOST',
  /** A job's output would exceed MAX_JOB_OUTPUT_BYTES. */
  OUTPUT_TOO_LARGE: 'OUTPUT_TOO_LARGE',
  /** A tenant's bitstream count or bytes would exceed its limit. */
  BITSTREAM_QUOTA: 'BITSTREAM_QUOTA',
  /** The tenant's allocation quota (bytes, units, contexts, slice entries, allocations) would be exceeded. */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
} as const;

/** Error codes of the GRM (RaError.code). */
export const GrmCode = { ...RequestCode, ...GrmOwnCode } as const;

/** The RVL's own codes (besides INVALID_REQUEST). */
const RvlOwnCode = {
  /** The inventory contradicts itself (overlapping slices, a slice outside its adapter, ...). */
  INVALID_INVENTORY: 'INVALID_INVENTORY',
  /** An adapter named by the caller (directly or through a slice) is not in the inventory. */
  UNKNOWN_ADAPTER: 'UNKNOWN_ADAPTER',
  /** A plan or reservation no longer matches the live index (something took its place): plan again. */
  STALE_PLAN: 'STALE_PLAN',
} as const;

/** Error codes of the RVL. INVALID_REQUEST: the request (or a resize) is malformed. */
export const RvlCode = { ...RequestCode, ...RvlOwnCode } as const;

/**
 * The store's codes: prefixed, because most of its refusals are the GRM's bugs, not the client's.
 * STALE_REVISION keeps its plain name: it is the client-facing answer (409) of a lost compare-and-swap.
 */
export const StoreCode = {
  /**
   * Compare-and-swap refused: another writer (a GRM replica) changed the record since the revision the
   * caller saw. Nothing changed: refresh() and decide again.
   */
  STALE_REVISION: 'STALE_REVISION',
  /** The caller passed a malformed allocation or intent: fix the input, retrying cannot help. */
  INVALID_ARGUMENT: 'STORE_INVALID_ARGUMENT',
  /** update/remove/abortIntent named an id the store does not hold. */
  NOT_FOUND: 'STORE_NOT_FOUND',
  /** The operation contradicts the state (an id recorded twice, a tenant changed by update, ...). */
  CONFLICT: 'STORE_CONFLICT',
  /** What is on disk cannot be trusted: the store refuses to open rather than drop committed records. */
  CORRUPT: 'STORE_CORRUPT',
  /** Another live process holds the store directory. */
  LOCKED: 'STORE_LOCKED',
  /** Used after close(). */
  CLOSED: 'STORE_CLOSED',
  /** A file operation failed while opening or compacting. */
  IO_FAILED: 'STORE_IO_FAILED',
  /**
   * A write could not be made durable (disk full, I/O error, etcd out of reach): that operation did not
   * happen. After a full disk the store takes writes again once there is space; after an I/O error only
   * a restart (reopen and reconciliation) does.
   */
  UNAVAILABLE: 'STORE_UNAVAILABLE',
} as const;

/** The agent's codes (GRM <-> agent protocol and the agent's own refusals). */
export const AgentCode = {
  /** The GRM named an adapter this agent's server does not hold. */
  UNKNOWN_ADAPTER: 'AGENT_UNKNOWN_ADAPTER',
  /** The agent's catalog has no bitstream for the function or id asked for. */
  NO_BITSTREAM: 'AGENT_NO_BITSTREAM',
  /** A call's parameters are malformed (the GRM validates first, so this is a bug between the two). */
  INVALID_PARAMS: 'AGENT_INVALID_PARAMS',
  /** A message that is not a request of the protocol (no id or method, unknown method). */
  PROTOCOL: 'AGENT_PROTOCOL',
  /** A handler failed with something that is not a RaError. */
  FAILED: 'AGENT_FAILED',
  /** The agent did not answer within the call's deadline. */
  TIMEOUT: 'AGENT_TIMEOUT',
  /** The connection to the agent closed. */
  DISCONNECTED: 'AGENT_DISCONNECTED',
  /** gRPC transport: no connection to the agent (down, restarting, unreachable, TLS handshake failed). */
  UNREACHABLE: 'AGENT_UNREACHABLE',
  /** gRPC transport: GRM and agent speak incompatible protocol versions. */
  VERSION_MISMATCH: 'AGENT_VERSION_MISMATCH',
  /** gRPC transport: the agent answered for another server than the GRM expected there. */
  MISMATCH: 'AGENT_MISMATCH',
  /** The agent refused another Watch stream: it serves a bounded number at once. */
  BUSY: 'AGENT_BUSY',
  /** `rafabric certs` needs the openssl command and did not find it. */
  OPENSSL_MISSING: 'AGENT_OPENSSL_MISSING',
  /** openssl failed while making a certificate or key. */
  OPENSSL_FAILED: 'AGENT_OPENSSL_FAILED',
  /** A certificate directory lacks a file the agent or the GRM needs. */
  CERTS_INCOMPLETE: 'AGENT_CERTS_INCOMPLETE',
  /** The agent could not listen on its address (in use, not local, no permission). */
  LISTEN_FAILED: 'AGENT_LISTEN_FAILED',
} as const;

/** Stable codes for bitstream refusals (docs/bitstreams.md, "Refusals"), raised before any register. */
export const BitstreamCode = {
  /** The descriptor is not JSON or breaks the schema or a rule beyond it. */
  DESCRIPTOR: 'BITSTREAM_DESCRIPTOR',
  /** image.file (or a catalog file) escapes its folder: '..', an absolute path, a symlink outside. */
  PATH: 'BITSTREAM_PATH',
  /** The image file is missing or unreadable. */
  IMAGE: 'BITSTREAM_IMAGE',
  /** The image is truncated or longer than the descriptor says. */
  SIZE: 'BITSTREAM_SIZE',
  /** A sha256 (image file or payload) differs from what the descriptor or header says. */
  HASH: 'BITSTREAM_HASH',
  /** The 128-byte image header (ra-spec §13) disagrees with the descriptor or is malformed. */
  HEADER: 'BITSTREAM_HEADER',
  /** A pipeline image's stage list differs from the descriptor's `pipeline`. */
  PIPELINE: 'BITSTREAM_PIPELINE',
  /** The payload exceeds its slot size class, the adapter's CAP_SLOT_BYTES or its staging window. */
  TOO_BIG: 'BITSTREAM_TOO_BIG',
  /** The image's spec range does not include the adapter's spec version. */
  SPEC: 'BITSTREAM_SPEC',
  /** The function is not a slot function or the adapter does not support it. */
  FUNCTION: 'BITSTREAM_FUNCTION',
  /** The engine needs more contexts than the adapter allows per engine (CAP_CONTEXTS). */
  CONTEXTS: 'BITSTREAM_CONTEXTS',
  /** No signature and the policy does not allow unsigned images. */
  UNSIGNED: 'BITSTREAM_UNSIGNED',
  /** Signed by a key that is not in the trust store. */
  UNKNOWN_KEY: 'BITSTREAM_UNKNOWN_KEY',
  /** The signature does not verify against the descriptor and image. */
  BAD_SIGNATURE: 'BITSTREAM_BAD_SIGNATURE',
  /** A key file or trust store is malformed. */
  KEY: 'BITSTREAM_KEY',
  /** Catalog: no such id, or the id is already registered with other content. */
  NOT_FOUND: 'BITSTREAM_NOT_FOUND',
  EXISTS: 'BITSTREAM_EXISTS',
  /** The adapter reported a different image than the one loaded. */
  LOAD_MISMATCH: 'BITSTREAM_LOAD_MISMATCH',
} as const;

/** Codes of the `rafabric` command line itself (never raised behind the HTTP API). */
export const CliCode = {
  /** The command line is wrong (a flag's value, a missing flag): exit status 2. */
  USAGE: 'CLI_USAGE',
  /** A client command (`rafabric adapters|alloc|free|exec`) could not reach the GRM's HTTP API. */
  GRM_UNREACHABLE: 'CLI_GRM_UNREACHABLE',
} as const;

/** Codes the HTTP edge raises itself, before the GRM is asked anything. */
export const ApiCode = {
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  INTERNAL: 'INTERNAL',
} as const;

/**
 * Each code set with the one owner that defines it. GrmCode and RvlCode are the owners' sets plus the
 * shared RequestCode, so the owned parts are listed here.
 */
export const codeSetsByOwner = {
  device: DeviceCode,
  driver: DriverCode,
  request: RequestCode,
  grm: GrmOwnCode,
  rvl: RvlOwnCode,
  store: StoreCode,
  agent: AgentCode,
  bitstream: BitstreamCode,
  api: ApiCode,
  cli: CliCode,
} as const;

type ValuesOf<T> = T[keyof T];
export type DeviceCodeName = ValuesOf<typeof DeviceCode>;
export type DriverCodeName = ValuesOf<typeof DriverCode>;
export type GrmCodeName = ValuesOf<typeof GrmCode>;
export type RvlCodeName = ValuesOf<typeof RvlCode>;
export type StoreCodeName = ValuesOf<typeof StoreCode>;
export type AgentCodeName = ValuesOf<typeof AgentCode>;
export type BitstreamCodeName = ValuesOf<typeof BitstreamCode>;
export type ApiCodeName = ValuesOf<typeof ApiCode>;
export type CliCodeName = ValuesOf<typeof CliCode>;
/** Every code any layer raises. */
export type AnyCode = {
  [Owner in keyof typeof codeSetsByOwner]: ValuesOf<(typeof codeSetsByOwner)[Owner]>;
}[keyof typeof codeSetsByOwner];
