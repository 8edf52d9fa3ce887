/*
 * ra_regs.h - register map of the rafabric Reconfigurable Adapter (RA).
 *
 * This header is the single source of the register layout. docs/ra-spec.md describes every
 * name defined here (a test checks that), and scripts/gen-regs.mjs generates src/driver/regs.ts
 * from it (a test checks that the generated file is not stale).
 *
 * Rules for this file, so that the generator can read it:
 *   - every constant is `#define RA_<NAME> <integer literal>` on one line, optionally followed by
 *     a C comment; no expressions, no casts;
 *   - the prefix groups constants into the TypeScript objects (RA_REG_* -> Reg, RA_SLOT_* -> Slot ...).
 *
 * All multi-byte registers are little-endian. 32-bit registers are accessed with exactly one 32-bit
 * access; 64-bit registers with one 64-bit access (ra-spec §2.2).
 */
#ifndef RA_REGS_H
#define RA_REGS_H

/* ---- §2 BAR layout (byte offsets into the register file) ------------------------------------ */
#define RA_BAR_BYTES            0x400000   /* register file size: 4 MiB (an ivshmem BAR is a power of two) */
#define RA_BAR_GLOBAL           0x0000     /* identity, capabilities, status, admin mailbox, debug */
#define RA_BAR_QUEUES           0x1000     /* queue control blocks, RA_QCB_STRIDE each */
#define RA_BAR_SLOTS            0x2000     /* slot table, RA_SLOT_STRIDE each */
#define RA_BAR_HOSTMEM          0x3000     /* host region table, RA_HOSTMEM_STRIDE each */
#define RA_BAR_SLICES           0x4000     /* slice table, RA_SLICE_STRIDE each */
#define RA_BAR_RINGS            0x10000    /* DMA rings, RA_RING_STRIDE per queue */
#define RA_BAR_STAGING          0x100000   /* bitstream staging window */
#define RA_BAR_STAGING_BYTES    0x300000   /* 3 MiB */

/* ---- §3 identity and capabilities (read-only) ------------------------------------------------ */
#define RA_ID_MAGIC             0x42464152 /* REG_MAGIC once initialised: 'RAFB' little-endian */
#define RA_ID_SPEC_VERSION      0x00010000 /* the spec version this header describes: 1.0 (major<<16 | minor) */
#define RA_REG_MAGIC            0x000  /* u32  'RAFB' = 0x42464152 once the adapter is initialised */
#define RA_REG_SPEC_VERSION     0x004  /* u32  major<<16 | minor */
#define RA_REG_DEVICE_ID        0x008  /* u32  vendor<<16 | device */
#define RA_REG_FABRIC_ID        0x00C  /* u32  this adapter's port number on the fabric */
#define RA_REG_SERIAL           0x010  /* u64  serial number */
#define RA_REG_MODEL_PEER_ID    0x018  /* u32  ivshmem peer id whose vectors are this adapter's doorbells */
#define RA_REG_FABRIC_PORTS     0x01C  /* u32  number of ports (adapters) reachable on the fabric */
#define RA_REG_CAP_MEM_BYTES    0x020  /* u64  on-card memory size in bytes */
#define RA_REG_CAP_SLOTS        0x028  /* u32  number of programmable-logic slots */
#define RA_REG_CAP_SLOT_BYTES   0x02C  /* u32  largest image payload a slot accepts, in bytes */
#define RA_REG_CAP_COMPUTE_UNITS 0x030 /* u32  hardened matrix compute units ("GPU-core equivalents") */
#define RA_REG_CAP_CONTEXTS     0x034  /* u32  contexts per loaded function engine */
#define RA_REG_CAP_SLICES       0x038  /* u32  slice table entries */
#define RA_REG_CAP_QUEUES       0x03C  /* u32  DMA queue pairs */
#define RA_REG_CAP_RING_DEPTH   0x040  /* u32  entries per submission and per completion ring (power of two) */
#define RA_REG_CAP_HOSTMEM      0x044  /* u32  host region table entries */
#define RA_REG_CAP_STAGING_BYTES 0x048 /* u32  bytes of the staging window */
#define RA_REG_CAP_FUNCTIONS    0x04C  /* u32  bit (1<<function id) set for each function the slots can host */
#define RA_REG_CAP_MEM_ALIGN    0x050  /* u64  memory slice base/length granularity in bytes */
#define RA_REG_CAP_CONFIG_RATE  0x058  /* u64  configuration port speed, bytes per second */
#define RA_REG_CAP_MAX_TRANSFER 0x060  /* u64  largest length one descriptor may carry */

/* ---- §4 status ----------------------------------------------------------------------------- */
#define RA_REG_STATUS           0x080  /* u32  RA_STATUS_* bits */
#define RA_REG_ERROR            0x084  /* u32  last adapter-level error (RA_ERR_*) */
#define RA_REG_HEARTBEAT        0x088  /* u64  incremented by the adapter at least every 10 ms while alive */
#define RA_REG_CLOCK_NS         0x090  /* u64  adapter clock, ns since power-on (timestamps in counters use it) */
#define RA_REG_INT_COUNT        0x098  /* u32  interrupts raised since power-on */

#define RA_STATUS_READY         0x1    /* adapter initialised, accepts commands */
#define RA_STATUS_HALTED        0x2    /* adapter stopped answering (fault injected); needs power cycle */
#define RA_STATUS_FATAL         0x4    /* unrecoverable internal error */

/* ---- §5 admin mailbox ---------------------------------------------------------------------- */
#define RA_REG_CMD_LOCK         0x100  /* u32  0 = free; peer id + 1 of the holder (claim with compare-and-swap) */
#define RA_REG_CMD_OPCODE       0x104  /* u32  RA_CMD_* */
#define RA_REG_CMD_SEQ          0x108  /* u32  written by the driver last: the command is posted */
#define RA_REG_CMD_DONE_SEQ     0x10C  /* u32  written by the adapter last: equals CMD_SEQ when done */
#define RA_REG_CMD_STATUS       0x110  /* u32  RA_ERR_* of the last completed command */
#define RA_REG_CMD_DATA_BYTES   0x114  /* u32  bytes valid in CMD_DATA */
#define RA_REG_CMD_ARG0         0x118  /* u64 */
#define RA_REG_CMD_ARG1         0x120  /* u64 */
#define RA_REG_CMD_ARG2         0x128  /* u64 */
#define RA_REG_CMD_ARG3         0x130  /* u64 */
#define RA_REG_CMD_ARG4         0x138  /* u64 */
#define RA_REG_CMD_ARG5         0x140  /* u64 */
#define RA_REG_CMD_RESULT0      0x148  /* u64 */
#define RA_REG_CMD_RESULT1      0x150  /* u64 */
#define RA_REG_CMD_DATA         0x200  /* 256 bytes: keys, file names */
#define RA_CMD_DATA_CAPACITY    256    /* bytes of CMD_DATA */

#define RA_CMD_NOP              0x01
#define RA_CMD_SLOT_LOAD        0x02   /* arg0 slot, arg1 source, arg2 image bytes, arg3 flags, arg4 key, arg5 slice<<40|offset */
#define RA_CMD_SLOT_UNLOAD      0x03   /* arg0 slot, arg3 flags */
#define RA_CMD_SLICE_RESERVE    0x04   /* arg0 index, arg1 kind, arg2 owner key, arg3 base, arg4 length */
#define RA_CMD_SLICE_ACTIVATE   0x05   /* arg0 index, arg2 owner key */
#define RA_CMD_SLICE_DRAIN      0x06   /* arg0 index, arg2 owner key */
#define RA_CMD_SLICE_RELEASE    0x07   /* arg0 index, arg1 flags, arg2 owner key; scrubs memory, then free */
#define RA_CMD_SLICE_SET_KEY    0x08   /* arg0 index, arg2 owner key; CMD_DATA = 32-byte engine key */
#define RA_CMD_HOSTMEM_REGISTER 0x09   /* arg0 handle, arg1 bytes; CMD_DATA = file name in the adapter's directory */
#define RA_CMD_HOSTMEM_UNREGISTER 0x0A /* arg0 handle */
#define RA_CMD_RESET            0x0B   /* all slices free and scrubbed, all slots empty, queues reset */
#define RA_CMD_SLICE_RESIZE     0x0C   /* arg0 index, arg2 owner key, arg4 new length (memory/compute) */
#define RA_CMD_TENANT_OPEN      0x0D   /* arg0 window, arg1 queue, arg2 owner key, arg3 grants; CMD_DATA = nonce + grants (§18) */
#define RA_CMD_TENANT_CLOSE     0x0E   /* arg0 window, arg2 owner key: revoke the window (§18) */
#define RA_CMD_SLICE_PROGRAM    0x0F   /* arguments and checks of SLICE_RESERVE; FREE -> ACTIVE in one command */

#define RA_LOAD_SRC_STAGING     0      /* image read from the staging window */
#define RA_LOAD_SRC_MEMORY      1      /* image read from a memory slice: arg4 key, arg5 slice<<40 | offset */
#define RA_LOAD_FLAG_FORCE      0x1    /* reprogram even if the slot is busy or has contexts in use */
#define RA_RELEASE_F_KEEP       0x1    /* SLICE_RELEASE arg1: do not scrub (debug tools reading raw memory) */

/* ---- §6 debug / fault injection -------------------------------------------------------------- */
#define RA_REG_DEBUG_FAULT      0x300  /* u32  RA_FAULT_*; consumed (set back to 0) when the adapter acts on it */
#define RA_REG_DEBUG_FAULT_ARG  0x304  /* u32  argument, e.g. stall time in ms */
#define RA_REG_DEBUG_FAULTS_HIT 0x308  /* u32  count of injected faults that took effect */

#define RA_FAULT_NONE           0
#define RA_FAULT_FAIL_NEXT_LOAD 1      /* next SLOT_LOAD fails mid-configuration: slot -> ERROR */
#define RA_FAULT_FAIL_NEXT_DMA  2      /* next descriptor completes with RA_ERR_FAULT_INJECTED, writes nothing */
#define RA_FAULT_STALL_NEXT_DMA 3      /* next descriptor is held for DEBUG_FAULT_ARG ms */
#define RA_FAULT_HANG           4      /* adapter stops answering: no completions, STATUS.HALTED */
#define RA_FAULT_EXIT           5      /* the adapter's process exits (surprise removal) */

/* ---- §7 queue control blocks ----------------------------------------------------------------- */
#define RA_QCB_STRIDE           0xC0   /* three cache lines: header+counters, driver's line, adapter's line (§7) */
#define RA_QUEUE_MAX            16     /* CAP_QUEUES never exceeds this; 16 x 0xC0 ends at 0x1C00, before BAR_SLOTS */
#define RA_QCB_LINE_BYTES       64     /* a cache line: the driver's and the adapter's queue fields live on lines of their own (§7) */
#define RA_QCB_OWNER            0x00   /* u32  0 = free; peer id + 1 of the owner (claim with compare-and-swap); line 0x00-0x3F */
#define RA_QCB_SUBMITTED        0x08   /* u64  descriptors consumed */
#define RA_QCB_COMPLETED        0x10   /* u64  completions produced */
#define RA_QCB_ERRORS           0x18   /* u64  completions with a non-zero status */
#define RA_QCB_SQ_TAIL          0x40   /* u32  driver: next submission index (free-running); the driver's line 0x40-0x7F */
#define RA_QCB_CQ_HEAD          0x44   /* u32  driver: completions consumed */
#define RA_QCB_IRQ_ENABLE       0x48   /* u32  driver: 1 = raise the queue's vector on completion */
#define RA_QCB_POLL_US          0x4C   /* u32  driver: adapter spins this long after work before sleeping */
#define RA_QCB_SQ_HEAD          0x80   /* u32  adapter: submissions consumed; the adapter's line 0x80-0xBF */
#define RA_QCB_CQ_TAIL          0x84   /* u32  adapter: completions produced */
#define RA_QCB_AWAKE            0x88   /* u32  adapter: 1 while it is polling this queue (doorbell may be skipped) */

/* ---- §8 DMA rings ------------------------------------------------------------------------- */
#define RA_RING_STRIDE          0x8000 /* bytes per queue: submission ring then completion ring */
#define RA_RING_CQ_OFFSET       0x4000 /* completion ring offset inside the queue's ring area */
#define RA_RING_MAX_DEPTH       256

#define RA_DESC_BYTES           64
#define RA_DESC_OPCODE          0x00   /* u8   RA_OP_* */
#define RA_DESC_FLAGS           0x01   /* u8   RA_DESC_F_* */
#define RA_DESC_CTX_SLICE       0x02   /* u16  engine or compute slice (jobs) */
#define RA_DESC_COOKIE          0x04   /* u32  echoed in the completion */
#define RA_DESC_OWNER_KEY       0x08   /* u64  must equal the owner key of every slice named */
#define RA_DESC_SRC_LOC         0x10   /* u32  location (RA_LOC_*) */
#define RA_DESC_DST_LOC         0x14   /* u32 */
#define RA_DESC_SRC_OFFSET      0x18   /* u64  byte offset inside the source slice or host region */
#define RA_DESC_DST_OFFSET      0x20   /* u64 */
#define RA_DESC_LENGTH          0x28   /* u64  bytes */
#define RA_DESC_PARAMS          0x30   /* 16 bytes: aes-256-gcm IV (12 bytes); matmul m,n,k (3 x u32) */

#define RA_OP_COPY              0x01   /* move LENGTH bytes from SRC to DST */
#define RA_OP_JOB               0x02   /* run the engine of CTX_SLICE on SRC, write its output at DST */
#define RA_OP_FILL              0x03   /* write LENGTH bytes of PARAMS[0] at DST */

#define RA_DESC_F_CHAIN         0x01   /* scatter-gather: the next descriptor belongs to this one; one completion */
#define RA_DESC_F_INLINE_KEY    0x02   /* JOB on aes-256-gcm: SRC starts with the job's 32-byte key, input follows */
#define RA_DESC_INLINE_KEY_BYTES 32     /* bytes of the key block that RA_DESC_F_INLINE_KEY puts before the input */

/* Location word: kind in bits 31..28, port/handle in bits 27..16, slice index in bits 15..0. */
#define RA_LOC_KIND_SHIFT       28
#define RA_LOC_PORT_SHIFT       16
#define RA_LOC_PORT_MASK        0xFFF
#define RA_LOC_SLICE_MASK       0xFFFF
#define RA_LOC_ADAPTER          0x1    /* adapter memory slice on fabric port PORT */
#define RA_LOC_HOST             0x2    /* host region HANDLE (slice bits ignored) */
#define RA_LOC_FABRIC_PORTS     0x100  /* ports of a fabric shared by several models (REG_FABRIC_PORTS with ra-model --fabric) */

#define RA_CQE_BYTES            16
#define RA_CQE_COOKIE           0x00   /* u32 */
#define RA_CQE_STATUS           0x04   /* u32  RA_ERR_* */
#define RA_CQE_SQ_INDEX         0x08   /* u32  submission index of the (last) descriptor */
#define RA_CQE_OUT_BYTES        0x0C   /* u32  bytes the engine wrote (jobs), low 32 bits of bytes moved (copies) */

/* ---- §9 slot table ------------------------------------------------------------------------ */
#define RA_SLOT_STRIDE          0x60
#define RA_SLOT_MAX             32     /* CAP_SLOTS never exceeds this */
#define RA_SLOT_STATE           0x00   /* u32  RA_SLOT_S_* */
#define RA_SLOT_FUNCTION        0x04   /* u32  RA_FN_* of the loaded function, 0 if none */
#define RA_SLOT_IMAGE_HASH      0x08   /* 32 bytes: sha256 of the loaded payload */
#define RA_SLOT_CONTEXTS        0x28   /* u32  contexts the engine provides */
#define RA_SLOT_CONTEXTS_USED   0x2C   /* u32  contexts held by slices */
#define RA_SLOT_LAST_ERROR      0x30   /* u32  RA_ERR_* of the last load attempt */
#define RA_SLOT_LOAD_PERMILLE   0x34   /* u32  configuration progress 0..1000 while LOADING */
#define RA_SLOT_IMAGE_BYTES     0x38   /* u64  payload bytes of the loaded image */
#define RA_SLOT_LOADS           0x40   /* u32  successful loads since power-on */
#define RA_SLOT_IMAGE_VERSION   0x44   /* u32  image version field of the loaded image */
#define RA_SLOT_IMAGE_NAME      0x48   /* 24 bytes: image name, NUL padded */

#define RA_SLOT_S_EMPTY         0
#define RA_SLOT_S_LOADING       1
#define RA_SLOT_S_READY         2
#define RA_SLOT_S_BUSY          3
#define RA_SLOT_S_ERROR         4

/* ---- §10 slice table ------------------------------------------------------------------------ */
#define RA_SLICE_STRIDE         0x40
#define RA_SLICE_MAX            256    /* CAP_SLICES never exceeds this */
#define RA_SLICE_STATE          0x00   /* u32  RA_SLICE_S_* */
#define RA_SLICE_KIND           0x04   /* u32  RA_SLICE_K_* */
#define RA_SLICE_OWNER_KEY      0x08   /* u64  owner key; 0 never matches */
#define RA_SLICE_BASE           0x10   /* u64  memory: byte offset; compute: first unit; context: slot<<16 | first context */
#define RA_SLICE_CTX_SLOT_SHIFT 16     /* context slices: BASE = slot << RA_SLICE_CTX_SLOT_SHIFT | first context */
#define RA_SLICE_LENGTH         0x18   /* u64  memory: bytes; compute: units; context: contexts */
#define RA_SLICE_BYTES_MOVED    0x20   /* u64  counter: DMA and engine bytes through this slice */
#define RA_SLICE_BUSY_NS        0x28   /* u64  counter: ns of engine or DMA time charged to this slice */
#define RA_SLICE_JOBS           0x30   /* u64  counter: descriptors completed that named this slice */
#define RA_SLICE_LAST_ACTIVE_NS 0x38   /* u64  CLOCK_NS of the last use, 0 if never used */

#define RA_SLICE_S_FREE         0
#define RA_SLICE_S_RESERVED     1
#define RA_SLICE_S_ACTIVE       2
#define RA_SLICE_S_DRAINING     3

#define RA_SLICE_K_NONE         0
#define RA_SLICE_K_MEMORY       1
#define RA_SLICE_K_COMPUTE      2
#define RA_SLICE_K_CONTEXT      3

/* ---- §11 host region table ---------------------------------------------------------------- */
#define RA_HOSTMEM_STRIDE       0x20
#define RA_HOSTMEM_STATE        0x00   /* u32  0 = unused, 1 = mapped */
#define RA_HOSTMEM_OWNER        0x04   /* u32  peer id + 1 of the registering client */
#define RA_HOSTMEM_BYTES        0x08   /* u64  region size */
#define RA_HOSTMEM_MAX          16

/* ---- §12 functions ------------------------------------------------------------------------ */
#define RA_FN_NONE              0
#define RA_FN_AES_256_GCM       1      /* out = ciphertext || 16-byte tag, no AAD; key set per slice, IV per job */
#define RA_FN_SHA256            2      /* out = 32-byte digest */
#define RA_FN_CRC32C            3      /* out = 4 bytes, little-endian (Castagnoli, reflected, init/xorout ~0) */
#define RA_FN_PIPELINE          4      /* custom logic: the image payload lists stages (§12.2) */
#define RA_FN_MATMUL_F32        5      /* hardened compute units: C(m x n) = A(m x k) B(k x n), row-major f32 */

/* ---- §13 bitstream image header (what the adapter verifies) ----------------------------------- */
#define RA_IMG_HEADER_BYTES     128
#define RA_IMG_MAGIC_VALUE      0x53424152 /* 'RABS' */
#define RA_IMG_FORMAT_VERSION   1
#define RA_IMG_MAGIC            0x00   /* u32  RA_IMG_MAGIC_VALUE */
#define RA_IMG_FORMAT           0x04   /* u16  RA_IMG_FORMAT_VERSION */
#define RA_IMG_HEADER_SIZE      0x06   /* u16  RA_IMG_HEADER_BYTES */
#define RA_IMG_FUNCTION         0x08   /* u32  RA_FN_* */
#define RA_IMG_SPEC_MIN         0x0C   /* u32  lowest RA spec version (major<<16|minor) it runs on */
#define RA_IMG_SPEC_MAX         0x10   /* u32  highest RA spec version it runs on */
#define RA_IMG_CONTEXTS         0x14   /* u32  contexts the engine provides (<= CAP_CONTEXTS) */
#define RA_IMG_PAYLOAD_BYTES    0x18   /* u64  payload bytes following the header */
#define RA_IMG_PAYLOAD_SHA256   0x20   /* 32 bytes */
#define RA_IMG_VERSION          0x40   /* u32  image version */
#define RA_IMG_FLAGS            0x44   /* u32  reserved, must be 0 */
#define RA_IMG_NAME             0x48   /* 24 bytes, NUL padded */
#define RA_IMG_RESERVED         0x60   /* 32 bytes, must be 0 */

/* ---- §14 interrupt and doorbell vectors (ivshmem-doorbell) ---------------------------------- */
#define RA_VEC_ADMIN            0      /* doorbell: admin mailbox or debug register written; interrupt: command done */
#define RA_VEC_QUEUE0           1      /* queue q uses vector RA_VEC_QUEUE0 + q in both directions */

/* ---- §15 error codes (CMD_STATUS, CQE_STATUS, SLOT_LAST_ERROR, REG_ERROR) ------------------- */
#define RA_ERR_OK               0
#define RA_ERR_BAD_OPCODE       1      /* unknown command or descriptor opcode */
#define RA_ERR_BAD_ARGUMENT     2      /* an argument is out of range or malformed */
#define RA_ERR_NOT_LOCKED       3      /* command posted without holding CMD_LOCK */
#define RA_ERR_SLOT_BUSY        4      /* slot has contexts in use or a job running; use FORCE */
#define RA_ERR_SLOT_STATE       5      /* slot is not in a state that allows the operation */
#define RA_ERR_SLICE_STATE      6      /* slice is not in a state that allows the operation */
#define RA_ERR_OWNER_KEY        7      /* owner key does not match the slice */
#define RA_ERR_BOUNDS           8      /* access outside the slice or host region */
#define RA_ERR_OVERLAP          9      /* placement overlaps another slice */
#define RA_ERR_NO_RESOURCE      10     /* not enough memory, units or contexts at that placement */
#define RA_ERR_IMG_MAGIC        11     /* image header magic, format or size field wrong */
#define RA_ERR_IMG_SPEC         12     /* image not compatible with this adapter's spec version */
#define RA_ERR_IMG_HASH         13     /* payload sha256 differs from the header */
#define RA_ERR_IMG_SIZE         14     /* image truncated or larger than the slot */
#define RA_ERR_IMG_FUNCTION     15     /* unknown function, or contexts out of range */
#define RA_ERR_FUNCTION         16     /* job names an engine that does not provide the operation */
#define RA_ERR_HOSTMEM          17     /* host region unknown, not owned or cannot be mapped */
#define RA_ERR_FABRIC           18     /* fabric port does not exist */
#define RA_ERR_FAULT_INJECTED   19     /* failure injected through DEBUG_FAULT */
#define RA_ERR_LOAD_FAILED      20     /* configuration failed; slot is in ERROR */
#define RA_ERR_QUEUE            21     /* queue not owned by the submitter or ring indices invalid */
#define RA_ERR_JOB_PARAMS       22     /* job parameters invalid (sizes, dimensions, pipeline stages) */
#define RA_ERR_ALIGN            23     /* memory slice base or length not a multiple of CAP_MEM_ALIGN */
#define RA_ERR_COUNT            24     /* number of error codes; not an error */

/* ---- §18 tenant windows: a page per granted queue, in its own file, showing only what was granted */
#define RA_TENANT_MAX           16     /* tenant windows per adapter */
#define RA_TENANT_GRANT_MAX     30     /* slices one window may name: (256 - nonce) / 8 bytes of CMD_DATA */
#define RA_TENANT_NONCE_BYTES   16     /* TENANT_OPEN CMD_DATA[0..15]: random part of the window's file name */
#define RA_TENANT_GRANT_BYTES   8      /* TENANT_OPEN CMD_DATA: u32 fabric port, u32 slice index, per grant */
#define RA_TENANT_QUEUE_OWNER   0x10000 /* QCB_OWNER of a queue bound to window w: 0x10000 + w (never peer id + 1) */

#define RA_TW_BYTES             0x8000 /* size of a window file */
#define RA_TW_MAGIC             0x000  /* u32  RA_TW_MAGIC_VALUE once the window is set up */
#define RA_TW_STATE             0x004  /* u32  RA_TW_S_* */
#define RA_TW_QUEUE             0x008  /* u32  the adapter queue the window's ring feeds */
#define RA_TW_RING_DEPTH        0x00C  /* u32  entries of the window's SQ and CQ (= CAP_RING_DEPTH) */
#define RA_TW_FABRIC_ID         0x010  /* u32  the adapter's fabric port */
#define RA_TW_GRANTED           0x014  /* u32  entries of the grant table */
#define RA_TW_MAX_TRANSFER      0x018  /* u64  CAP_MAX_TRANSFER */
#define RA_TW_LINE_BYTES        64     /* a cache line: the holder's and the adapter's queue fields live on lines of their own (§18.1) */
#define RA_TW_SQ_TAIL           0x040  /* u32  holder: next submission index (free-running); the holder's line 0x040-0x07F */
#define RA_TW_CQ_HEAD           0x044  /* u32  holder: completions consumed */
#define RA_TW_IRQ_ENABLE        0x048  /* u32  holder: 1 = an interrupt after each batch of completions (§18.5) */
#define RA_TW_POLL_US           0x04C  /* u32  holder: the adapter spins this long after work (§18.5) */
#define RA_TW_SQ_HEAD           0x080  /* u32  adapter: submissions taken; the adapter's line 0x080-0x0BF */
#define RA_TW_CQ_TAIL           0x084  /* u32  adapter: completions produced */
#define RA_TW_AWAKE             0x088  /* u32  adapter: 1 while it spins on SQ_TAIL (the doorbell may be skipped) */
#define RA_TW_GRANTS            0x100  /* grant table, RA_TW_GRANT_STRIDE each */
#define RA_TW_GRANT_STRIDE      0x20
#define RA_TW_GRANT_PORT        0x00   /* u32  fabric port of the slice's adapter */
#define RA_TW_GRANT_SLICE       0x04   /* u32  slice index on that adapter */
#define RA_TW_GRANT_KIND        0x08   /* u32  RA_SLICE_K_* at open time (0 on another adapter) */
#define RA_TW_GRANT_BASE        0x10   /* u64  SLICE_BASE at open time (0 on another adapter) */
#define RA_TW_GRANT_LENGTH      0x18   /* u64  SLICE_LENGTH at open time (0 on another adapter) */
#define RA_TW_SQ                0x1000 /* submission ring: depth x DESC_BYTES */
#define RA_TW_CQ                0x5000 /* completion ring: depth x CQE_BYTES */
#define RA_TW_MAGIC_VALUE       0x57544152 /* 'RATW' in memory order */
#define RA_TW_S_OPEN            1      /* descriptors are taken */
#define RA_TW_S_REVOKED         2      /* TENANT_CLOSE ran: nothing is taken any more, the file is unlinked */

#endif /* RA_REGS_H */
