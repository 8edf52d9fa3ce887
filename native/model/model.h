/*
 * model.h - the RA device model's private state, shared by the files of native/model/.
 *
 * The model owns the register file (BAR), the on-card memory and the ivshmem-server socket of every
 * RA it serves. Everything a tenant must never see (engine keys, staged images, in-flight DMA state)
 * lives here, in model-private memory, never in the BAR (ra-spec §10, §12).
 *
 * One thread runs everything (loop.c), so no locks: the only concurrency is with the clients that
 * share the BAR, and that is handled by the access rules in bar.h.
 */
#ifndef RA_MODEL_H
#define RA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ra_regs.h"

#define RA_MODEL_NAME            "ra-model"
#define RA_MODEL_SPEC_VERSION    RA_ID_SPEC_VERSION  /* §3: the model implements the header's version */
#define RA_MODEL_DEVICE_ID       0x52410001u  /* §3: vendor 'RA', device 1 */
#define RA_MODEL_CHUNK_BYTES     (1u << 20)   /* most bytes a queue moves per turn (fairness) */
#define RA_MODEL_TURN_NS         1000000ull   /* most time a queue's turn copies (§8.8): what others wait */
#define RA_MODEL_STEP_BYTES      (16u << 10)  /* a turn reads the clock after each step this long */
#define RA_MODEL_TICK_NS         5000000ull   /* heartbeat period: §4 asks for at most 10 ms */
#define RA_MODEL_MAX_TRANSFER    (1ull << 30) /* §3 CAP_MAX_TRANSFER default (--max-transfer) */
#define RA_MODEL_VECTORS_MAX     (RA_VEC_QUEUE0 + RA_QUEUE_MAX)
#define RA_MODEL_ADAPTERS_MAX    64
#define RA_MODEL_STAGES_MAX      16           /* §12.2 pipeline stages */
#define RA_MODEL_KEY_BYTES       32           /* aes-256 key */
#define RA_MODEL_DEFERRED        0xFFFFFFFFu  /* command status: completion comes later (SLOT_LOAD) */

struct ra_model;
struct ra_adapter;
struct ra_fabric_peer;
struct ra_peer;
struct ra_job;

/* ---- configuration (options.c) ------------------------------------------------------------- */
struct ra_config {
    unsigned adapters;
    const char *dir;
    uint64_t memory_bytes;
    uint32_t slots;
    uint32_t slot_bytes;
    uint32_t compute_units;
    uint32_t contexts;
    uint32_t slices;
    uint32_t queues;
    uint32_t ring_depth;
    uint64_t config_rate;   /* bytes per second */
    uint64_t mem_align_bytes;
    uint64_t max_transfer_bytes;            /* §3 CAP_MAX_TRANSFER: largest DESC_LENGTH */
    const char *fabric_dir;                 /* §8.9: fabric directory shared with other models, or NULL */
    int fabric_base;                        /* §8.9: first fabric port (--fabric-base), -1 = claim free ports */
};

/* ---- epoll tags (loop.c) ------------------------------------------------------------------- */
enum ra_watch_kind { RA_W_LISTEN, RA_W_CLIENT, RA_W_DOORBELL, RA_W_TIMER, RA_W_SIGNAL, RA_W_TENANT_DOORBELL };

struct ra_watch {
    enum ra_watch_kind kind;
    struct ra_adapter *adapter;
    struct ra_peer *peer;
    unsigned vector;
};

/* ---- ivshmem peers (ivshmem_server.c) -------------------------------------------------------- */
struct ra_peer {
    struct ra_peer *next;
    struct ra_adapter *adapter;
    int64_t id;                            /* ivshmem peer id, >= 1 (the model is peer 0) */
    int sock_fd;
    int irq_fd[RA_MODEL_VECTORS_MAX];      /* the client's interrupt vectors */
    struct ra_watch watch;
};

/* ---- slots (slots.c) ------------------------------------------------------------------------- */
struct ra_pipeline_stage {
    uint32_t op;
    uint32_t arg;
};

struct ra_slot_state {
    uint64_t payload_bytes;
    uint32_t function;
    uint32_t contexts;
    uint32_t image_version;
    uint8_t hash[32];
    uint8_t name[24];
    uint32_t stage_count;
    struct ra_pipeline_stage stages[RA_MODEL_STAGES_MAX];
    /* configuration in progress (§9 LOADING) */
    bool loading;
    bool fail_at_half;                     /* FAULT_FAIL_NEXT_LOAD consumed by this load */
    uint64_t load_start_ns;
    uint64_t load_ns;
};

/* ---- slices (slices.c) ------------------------------------------------------------------------ */
struct ra_slice_state {
    /* the entry as the model programmed it (§10.1): the BAR shows a copy that clients can overwrite */
    uint32_t state;                        /* RA_SLICE_S_* */
    uint32_t kind;                         /* RA_SLICE_K_* */
    uint64_t owner_key;
    uint64_t base;
    uint64_t length;
    bool blocked;                          /* a command waits for it to go quiet: no new descriptors */
    bool key_set;
    uint8_t key[RA_MODEL_KEY_BYTES];       /* SLICE_SET_KEY: never written to the BAR */
    uint8_t key_digest[32];                /* SHA-256 of owner_key (LE): what other models compare (§8.9) */
};

/* ---- host regions (hostmem.c) ----------------------------------------------------------------- */
struct ra_hostmem {
    uint8_t *map;                          /* NULL when the handle is unused */
    uint64_t bytes;
    uint32_t owner;                        /* peer id + 1 of the registering client */
    bool blocked;                          /* UNREGISTER waits for it to go quiet: no new descriptors */
    bool dying;                            /* its owner left: unmapped once no descriptor uses it */
};

/* ---- a job as the engines see it (engines.c) ------------------------------------------------- */
struct ra_job_spec {
    uint32_t function;                     /* RA_FN_* */
    const uint8_t *key;                    /* aes-256-gcm: the slice's key, NULL if none was set */
    bool inline_key;                       /* DESC_F_INLINE_KEY: the key is the first 32 bytes of SRC */
    const uint8_t *params;                 /* descriptor PARAMS, 16 bytes */
    const struct ra_pipeline_stage *stages;
    uint32_t stage_count;
    uint64_t in_bytes;                     /* DESC_LENGTH: with inline_key, the key block included */
};

/* ---- DMA (dma.c) ------------------------------------------------------------------------------ */
struct ra_desc {                           /* private copy of one §8 descriptor */
    uint8_t opcode;
    uint8_t flags;
    uint16_t ctx_slice;
    uint32_t cookie;
    uint64_t owner_key;
    uint32_t src_loc;
    uint32_t dst_loc;
    uint64_t src_offset;
    uint64_t dst_offset;
    uint64_t length;
    uint8_t params[16];
};

struct ra_extent {                         /* a resolved location: what a descriptor touches */
    uint8_t *ptr;                          /* first byte the descriptor touches */
    struct ra_adapter *adapter;            /* adapter whose slice it is; NULL when unused */
    int slice;                             /* slice index, -1 for host regions / unused */
    int hostmem;                           /* host region handle, -1 for slices / unused */
};

struct ra_item {                           /* one descriptor of an operation */
    struct ra_desc desc;
    struct ra_extent src, dst, ctx;
    uint64_t done_bytes;
    uint64_t out_bytes;
    uint64_t busy_ns;
    struct ra_job_spec spec;               /* JOB: engine, key, stages (pointers stay valid while in flight) */
    struct ra_job *job;                    /* JOB: created when the item starts running */
    bool backwards;                        /* COPY whose destination overlaps the source from above */
};

enum ra_op_phase { RA_OP_IDLE, RA_OP_STALLED, RA_OP_RUNNING, RA_OP_COMPLETING };

/* Chains up to this long run from their queue's own item store (ra_adapter.op_items): a polled round
 * trip of one descriptor then costs no malloc/free; longer chains are allocated. */
#define RA_OP_INLINE_ITEMS 4

struct ra_op {                             /* the chain in flight on a queue */
    enum ra_op_phase phase;
    bool items_heap;                       /* items was allocated (a chain over RA_OP_INLINE_ITEMS) */
    uint32_t first_index;                  /* SQ index of the first descriptor */
    uint32_t count;
    uint32_t current;                      /* item running */
    uint32_t status;                       /* RA_ERR_* of the completion */
    uint64_t stall_until_ns;
    struct ra_item *items;
};

struct ra_queue_state {
    struct ra_op op;
    bool broken;                           /* SQ_TAIL - SQ_HEAD > depth: ignored until SQ_TAIL changes */
    uint32_t broken_tail;
    bool chain_wait;                       /* chain not fully submitted: wait for SQ_TAIL to move */
    uint64_t pinned_ports[RA_LOC_FABRIC_PORTS / 64]; /* §8.9: other models' ports this chain pins */
    uint32_t chain_wait_tail;
    bool spinning;                         /* adaptive polling (QCB_POLL_US) in progress */
    bool closing;                          /* owner left: finish the descriptor in progress, then free */
    uint64_t tenant_key;                   /* §18.4: a window's queue: its key, put into every descriptor */
    uint64_t poll_until_ns;
};

/* ---- tenant windows (tenant.c, §18) ---------------------------------------------------------- */
#define RA_TENANT_POLL_US_MAX 10000u       /* most µs a tenant's POLL_US keeps the model spinning */

struct ra_tenant_chain {                   /* a chain taken from a window, in submission order */
    uint32_t tenant_last;                  /* window SQ index of its last descriptor (CQE_SQ_INDEX) */
    uint32_t cookie;
    uint32_t status;                       /* not forwarded: the error it completes with */
    bool forwarded;                        /* on the queue: its CQE comes from the register file's CQ */
};

struct ra_tenant {
    bool open;
    bool revoked;                          /* TENANT_CLOSE posted: nothing more is taken or delivered */
    int fd;
    uint8_t *map;                          /* the window file, RA_TW_BYTES */
    uint32_t queue;
    int doorbell_fd;                       /* §18.5: FIFO <path>.db, read end (RDWR: never EOF) */
    int irq_fd;                            /* §18.5: FIFO <path>.irq, write end */
    struct ra_watch doorbell_watch;
    uint64_t owner_key;                    /* put into every forwarded descriptor; never in the window */
    uint32_t grant_count;
    struct {
        uint32_t port, slice;
    } grants[RA_TENANT_GRANT_MAX];
    uint32_t sq_head;                      /* window SQ consumed (the model's count, not the file's) */
    uint32_t sq_head_shown;                /* ... as last stored into TW_SQ_HEAD (ra_tenants_show_heads) */
    uint32_t cq_tail;                      /* window CQ produced */
    uint32_t hw_sq;                        /* SQ_TAIL of the queue, as the forwarder wrote it */
    bool awake;                            /* §18.5 adaptive polling: the loop spins on this window */
    uint64_t poll_until_ns;                /* ... until then, unless it works again */
    uint32_t chain_head, chains;
    struct ra_tenant_chain chain[RA_RING_MAX_DEPTH];
    char path[4096];                       /* last: the fields a look at the window reads stay together */
};

/* ---- load/store grants of memory slices (overlay.c, §18.7) ------------------------------------ */
#define RA_OVERLAY_NAME_BYTES 64           /* file name of a grant file, NUL included */

struct ra_overlay {                        /* a memory slice whose bytes live in its grant file */
    bool active;
    int fd;                                /* the grant file: what the holder maps */
    unsigned window;                       /* the tenant window that granted it */
    uint64_t base, length;                 /* the slice's range in the adapter memory at grant time */
    uint64_t generation;                   /* §8.9: published in the gate; changes at begin and end */
    char name[RA_OVERLAY_NAME_BYTES];      /* in the adapter's folder, beside its memory file */
};

/* ---- a posted admin command, copied out of the BAR before it is looked at (admin.c) ----------- */
struct ra_cmd {
    uint32_t opcode;
    uint32_t seq;
    uint32_t lock;                         /* CMD_LOCK at posting time: peer id + 1 */
    uint32_t data_bytes;
    uint64_t arg[6];
    uint8_t data[RA_CMD_DATA_CAPACITY];
};

/* A command in three steps (admin.c): check validates and changes nothing; block marks what must
 * go quiet (no descriptor in progress may touch it); apply runs once it is quiet. */
struct ra_command {
    uint32_t (*check)(struct ra_adapter *a, const struct ra_cmd *c);
    void (*block)(struct ra_adapter *a, const struct ra_cmd *c);
    uint32_t (*apply)(struct ra_adapter *a, const struct ra_cmd *c);  /* may return RA_MODEL_DEFERRED */
};

/* ---- one adapter (adapter.c) ------------------------------------------------------------------ */
struct ra_fabric_gate;

struct ra_adapter {
    struct ra_model *model;
    unsigned index;                        /* position in this model: DIR/ra<index>.* */
    uint32_t port;                         /* = FABRIC_ID: index, or the port claimed on the fabric (§8.9) */
    bool remote;                           /* §8.9: another model's adapter, seen through its files */
    uint8_t *bar;
    uint8_t *mem;
    uint64_t mem_bytes;                    /* size of the memory mapping */
    struct ra_fabric_gate *gate;           /* §8.9: blocked slices and fabric pins; NULL without --fabric */
    dev_t gate_dev;
    ino_t gate_ino;
    char gate_path[4096];
    char manifest_path[4096];
    bool gate_created, manifest_created;
    int bar_fd;
    int mem_fd;
    int listen_fd;
    dev_t bar_dev, mem_dev;
    ino_t bar_ino, mem_ino;
    char bar_path[4096];
    char mem_path[4096];
    char sock_path[4096];
    bool bar_created, mem_created, sock_created;
    int doorbell_fd[RA_MODEL_VECTORS_MAX];
    struct ra_watch doorbell_watch[RA_MODEL_VECTORS_MAX];
    struct ra_watch listen_watch;
    struct ra_peer *peers;
    int64_t next_peer_id;
    bool halted;                           /* FAULT_HANG: answers nothing until the process ends */
    bool admin_kicked;                     /* vector 0 rang since the mailbox was last looked at */
    bool cmd_busy;                         /* a command holds the mailbox (waiting or configuring) */
    bool cmd_configuring;                  /* ... and it is a SLOT_LOAD in LOADING: slots.c completes it */
    const struct ra_command *cmd_ops;
    struct ra_cmd cmd;                     /* the command in progress, as copied from the BAR */
    uint32_t lock_release_holder;          /* lock holder that left while its command ran */
    bool resetting;                        /* CMD_RESET waits for every descriptor touching the adapter */
    struct ra_slot_state prepared;         /* SLOT_LOAD: the verified image, until configuration starts */
    struct ra_slot_state slots[RA_SLOT_MAX];
    struct ra_slice_state slices[RA_SLICE_MAX];
    struct ra_queue_state queues[RA_QUEUE_MAX];
    /* each queue's items for a short chain (RA_OP_INLINE_ITEMS), apart from the queue states so that
     * the loop's looks at every queue stay on few lines */
    struct ra_item op_items[RA_QUEUE_MAX][RA_OP_INLINE_ITEMS];
    struct ra_hostmem hostmem[RA_HOSTMEM_MAX];
    struct ra_tenant tenants[RA_TENANT_MAX];
    uint32_t tenants_live;                 /* bit w: window w open and not revoked (tenant.c FOR_LIVE) */
    struct ra_overlay overlays[RA_SLICE_MAX]; /* §18.7: granted memory slices, by slice index */
    uint64_t overlay_generation;
};

struct ra_model {
    struct ra_config cfg;
    struct ra_adapter *adapters;
    unsigned adapters_open;
    int epoll_fd;
    int timer_fd;
    int signal_fd;
    uint64_t start_ns;                     /* CLOCK_MONOTONIC at power-on: CLOCK_NS = now - start */
    unsigned rr_next;                      /* round-robin start: adapter x queues + queue */
    struct ra_watch timer_watch;
    struct ra_watch signal_watch;
    struct ra_fabric_peer *peers[RA_LOC_FABRIC_PORTS]; /* §8.9: other models' ports, mapped on first use */
    struct ra_fabric_peer *retired;        /* replaced mappings: descriptors may still point into them */
};


/* time.c */
uint64_t ra_now_ns(void);
uint64_t ra_clock_ns(const struct ra_model *m);

/* options.c */
void ra_options_parse(int argc, char **argv, struct ra_config *cfg);

/* adapter.c */
int ra_adapter_open(struct ra_model *m, unsigned index);
void ra_adapter_publish(struct ra_adapter *a);
void ra_adapter_close(struct ra_adapter *a, bool remove_files);
void ra_adapter_heartbeat(struct ra_adapter *a, uint64_t clock_ns);
void ra_adapter_halt(struct ra_adapter *a);
struct ra_adapter *ra_adapter_by_port(struct ra_model *m, uint32_t port);

/* fabric.c (§8.9) */
int ra_fabric_join(struct ra_adapter *a);
void ra_fabric_leave(struct ra_adapter *a);
void ra_fabric_close_gate(struct ra_adapter *a, bool remove_file);
void ra_fabric_shutdown(struct ra_model *m);
struct ra_adapter *ra_fabric_port(struct ra_model *m, uint32_t port);
bool ra_fabric_alive(const struct ra_adapter *remote);
bool ra_fabric_slice_blocked(const struct ra_adapter *remote, uint32_t slice);
void ra_fabric_pin(struct ra_adapter *a, unsigned q, struct ra_adapter *remote, uint32_t slice);
void ra_fabric_unpin(struct ra_adapter *a, unsigned q);
void ra_fabric_publish_gate(struct ra_adapter *a);
bool ra_fabric_key_matches(const struct ra_adapter *remote, uint32_t slice, uint64_t key);
bool ra_fabric_quiet(struct ra_adapter *a);
bool ra_fabric_is_model_file(const struct ra_model *m, dev_t dev, ino_t ino);
void ra_fabric_publish_overlay(struct ra_adapter *a, uint32_t slice);
bool ra_fabric_compose(struct ra_adapter *remote, uint32_t slice, uint64_t base, uint64_t length);

/* overlay.c (§18.7) */
int ra_overlay_begin(struct ra_adapter *a, uint32_t slice, unsigned window, const char *path);
void ra_overlay_end(struct ra_adapter *a, uint32_t slice, bool keep_bytes);
void ra_overlays_end_all(struct ra_adapter *a, bool keep_bytes);

/* ivshmem_server.c */
bool ra_server_probe_live(const char *sock_path);
int ra_server_listen(struct ra_adapter *a);
void ra_server_accept(struct ra_adapter *a);
void ra_server_client_event(struct ra_peer *p);
void ra_server_close_all(struct ra_adapter *a);
void ra_server_raise(struct ra_adapter *a, uint32_t holder, unsigned vector);

/* loop.c */
int ra_loop_run(struct ra_model *m);
int ra_loop_watch(struct ra_model *m, int fd, struct ra_watch *w);
void ra_loop_unwatch(struct ra_model *m, int fd);

/* admin.c */
void ra_admin_service(struct ra_adapter *a);
void ra_admin_continue(struct ra_adapter *a);
void ra_admin_complete(struct ra_adapter *a, uint32_t status);
void ra_admin_peer_left(struct ra_adapter *a, uint32_t holder);
bool ra_admin_waiting(const struct ra_model *m);

/* slots.c */
extern const struct ra_command ra_cmd_slot_load, ra_cmd_slot_unload;
void ra_slots_tick(struct ra_adapter *a);
uint64_t ra_slots_next_deadline(const struct ra_adapter *a);
void ra_slots_reset(struct ra_adapter *a);
const struct ra_slot_state *ra_slot_loaded(const struct ra_adapter *a, uint32_t slot);

/* slices.c */
extern const struct ra_command ra_cmd_slice_reserve, ra_cmd_slice_activate, ra_cmd_slice_drain,
    ra_cmd_slice_release, ra_cmd_slice_set_key, ra_cmd_slice_resize, ra_cmd_slice_program;
void ra_slices_block_slot(struct ra_adapter *a, uint32_t slot);
void ra_slices_release_on_slot(struct ra_adapter *a, uint32_t slot);
void ra_slices_reset(struct ra_adapter *a);
bool ra_slice_usable(const struct ra_adapter *a, uint32_t index);
struct ra_slice_state ra_slice_entry(const struct ra_adapter *a, uint32_t index);
bool ra_slice_key_matches(const struct ra_adapter *a, uint32_t index, uint64_t key);
void ra_slice_key_digest(uint64_t key, uint8_t out[32]);

/* hostmem.c */
extern const struct ra_command ra_cmd_hostmem_register, ra_cmd_hostmem_unregister;
void ra_hostmem_unmap(struct ra_adapter *a, uint32_t handle);
void ra_hostmem_owner_left(struct ra_adapter *a, uint32_t owner);
void ra_hostmem_settle(struct ra_adapter *a);

/* dma.c */
void ra_dma_install_guard(void);
bool ra_dma_turn(struct ra_adapter *a, unsigned q, uint64_t budget_bytes, uint64_t *now_ns);
bool ra_dma_runnable(struct ra_adapter *a, unsigned q);
uint64_t ra_dma_next_deadline(const struct ra_adapter *a);
bool ra_dma_quiet(const struct ra_adapter *a);
bool ra_dma_touches(const struct ra_adapter *a, int slice, int hostmem);
void ra_dma_queue_drop(struct ra_adapter *a, unsigned q);
void ra_dma_queue_owner_left(struct ra_adapter *a, unsigned q);
void ra_dma_queue_reset_indices(struct ra_adapter *a, unsigned q);
void ra_dma_poll_update(struct ra_adapter *a, unsigned q, bool worked, uint64_t now_ns);

/* tenant.c */
extern const struct ra_command ra_cmd_tenant_open, ra_cmd_tenant_close;
bool ra_tenants_pump(struct ra_adapter *a, uint64_t *now_ns);
void ra_tenants_queue_done(struct ra_adapter *a, unsigned q, uint64_t now_ns);
void ra_tenants_show_heads(struct ra_adapter *a);
bool ra_tenants_pending(const struct ra_adapter *a);
uint64_t ra_tenants_poll_until(const struct ra_adapter *a);
void ra_tenants_poll_expire(struct ra_adapter *a, uint64_t now_ns);
void ra_tenants_drain_doorbells(struct ra_adapter *a);
void ra_tenants_close_all(struct ra_adapter *a, bool keep_bytes);

/* faults.c */
bool ra_faults_check(struct ra_adapter *a);
bool ra_fault_armed(const struct ra_adapter *a);
bool ra_fault_take(struct ra_adapter *a, uint32_t fault, uint32_t *arg);

/* engines.c */
uint32_t ra_job_check(const struct ra_job_spec *spec, uint64_t *out_bytes);
struct ra_job *ra_job_new(const struct ra_job_spec *spec, const uint8_t *src, uint8_t *dst);
uint64_t ra_job_step(struct ra_job *job, uint64_t budget_bytes, bool *finished, uint32_t *status);
void ra_job_free(struct ra_job *job);
uint32_t ra_pipeline_parse(const uint8_t *payload, uint64_t bytes, struct ra_pipeline_stage *stages,
                           uint32_t *count);
void ra_sha256(const uint8_t *data, size_t bytes, uint8_t out[32]);

/* crc32c.c */
uint32_t ra_crc32c_update(uint32_t crc, const uint8_t *data, size_t bytes);

/* matmul.c */
void ra_matmul_rows(const float *a, const float *b, float *c, uint32_t row_first, uint32_t rows,
                    uint32_t n, uint32_t k);

#endif /* RA_MODEL_H */
