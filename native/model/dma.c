/*
 * dma.c - DMA queues (ra-spec §7) and descriptors (§8): COPY, FILL and JOB across the fabric.
 *
 * A queue's work is taken from SQ_HEAD to SQ_TAIL (free-running u32 indices, masked by the depth).
 * Each chain (CHAIN set on all descriptors but the last) is copied out of the ring into private
 * memory, SQ_HEAD moves past it, and the whole chain is validated before any byte is written: one
 * bad descriptor fails the chain with one error completion and nothing written. A valid chain then
 * runs in turns (loop.c gives every queue with work one in each pass), and completes once, with the
 * cookie and SQ index of its last descriptor, when the completion ring has room.
 *
 * A turn is bounded by bytes (RA_MODEL_CHUNK_BYTES) and by time (RA_MODEL_TURN_NS), whichever comes
 * first, and ends at once when an admin command waits on any adapter (§8.8: admin before data): it
 * moves steps of RA_MODEL_STEP_BYTES and reads the clock after each. 1 MiB of memory never touched
 * before can take many milliseconds to copy (every page is faulted in on first touch, much more slowly
 * under virtualization), 1 MiB of touched memory about 100 us: bytes alone bound nothing. The time
 * bound keeps the heartbeat, doorbells and other queues from waiting behind a large copy; it is not
 * smaller because every turn costs a pass of the loop over all adapters.
 *
 * Validation follows §8.7 check by check; only then do FAIL_NEXT_DMA / STALL_NEXT_DMA apply. A
 * descriptor is "in progress" from validation to its last byte: commands that take away what it
 * names (RELEASE, DRAIN, UNREGISTER, RESET, FORCE) wait for it (admin.c).
 *
 * Host regions are client files that a client could truncate under us; a SIGBUS while touching one
 * is caught (sigsetjmp guard) and fails that descriptor with HOSTMEM instead of the whole model
 * (FABRIC when the address is another model's adapter memory).
 *
 * A location on another model's port (§8.9, fabric.c) is validated like a local one, from that
 * adapter's own slice table, after the queue has pinned the slice there; every chunk first checks
 * that the other model still runs, and the pins are released once the chain has completed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "bar.h"
#include "model.h"
#include "trace.h"

#define RA_DMA_OPS_PER_TURN 64 /* small descriptors: bound the work of one turn by count too */
#define RA_DMA_ADMIN_LOOK_NS 20000ull /* a turn looks for a waiting admin command this often */

/* ---- SIGBUS guard ------------------------------------------------------------------------------ */
static sigjmp_buf guard_jmp;
static volatile sig_atomic_t guard_armed;
static void *volatile guard_addr; /* the address that faulted */

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    if (guard_armed) {
        guard_addr = info->si_addr;
        guard_armed = 0;
        siglongjmp(guard_jmp, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void ra_dma_install_guard(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    /* SA_NODEFER: SIGBUS stays unblocked in the handler, so the siglongjmp out of it need not restore
     * the signal mask, and guarded_step's sigsetjmp need not save it (a system call per descriptor) */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

/* ---- rings -------------------------------------------------------------------------------------- */
static uint32_t ring_mask(const struct ra_adapter *a)
{
    return a->model->cfg.ring_depth - 1;
}

static uint32_t sq_entry(const struct ra_adapter *a, unsigned q, uint32_t index)
{
    return RA_BAR_RINGS + q * RA_RING_STRIDE + (index & ring_mask(a)) * RA_DESC_BYTES;
}

static uint32_t cq_entry(const struct ra_adapter *a, unsigned q, uint32_t index)
{
    return RA_BAR_RINGS + q * RA_RING_STRIDE + RA_RING_CQ_OFFSET + (index & ring_mask(a)) * RA_CQE_BYTES;
}

/* Copies one descriptor out of the ring. A tenant window's queue carries no key at all: the window's
 * own is put in here (§18.4). */
static void read_desc(const struct ra_adapter *a, unsigned q, uint32_t off, struct ra_desc *d)
{
    uint8_t raw[RA_DESC_BYTES];
    memcpy(raw, a->bar + off, sizeof raw);
    if (a->queues[q].tenant_key != 0)
        for (unsigned b = 0; b < 8; b++)
            raw[RA_DESC_OWNER_KEY + b] = (uint8_t)(a->queues[q].tenant_key >> (8 * b));
    d->opcode = raw[RA_DESC_OPCODE];
    d->flags = raw[RA_DESC_FLAGS];
    d->ctx_slice = le16(raw + RA_DESC_CTX_SLICE);
    d->cookie = le32(raw + RA_DESC_COOKIE);
    d->owner_key = le64(raw + RA_DESC_OWNER_KEY);
    d->src_loc = le32(raw + RA_DESC_SRC_LOC);
    d->dst_loc = le32(raw + RA_DESC_DST_LOC);
    d->src_offset = le64(raw + RA_DESC_SRC_OFFSET);
    d->dst_offset = le64(raw + RA_DESC_DST_OFFSET);
    d->length = le64(raw + RA_DESC_LENGTH);
    memcpy(d->params, raw + RA_DESC_PARAMS, sizeof d->params);
}

static bool cq_has_room(const struct ra_adapter *a, unsigned q)
{
    uint32_t tail = reg32(a, qcb(q, RA_QCB_CQ_TAIL));
    uint32_t head = reg32_acquire(a, qcb(q, RA_QCB_CQ_HEAD));
    return tail - head < a->model->cfg.ring_depth;
}

/* ---- operations ----------------------------------------------------------------------------------- */
static void free_op(struct ra_op *op)
{
    for (uint32_t i = 0; op->items != NULL && i < op->count; i++)
        ra_job_free(op->items[i].job);
    if (op->items_heap)
        free(op->items);
    memset(op, 0, sizeof *op);
}

/* The chain on queue q is done with: pins on other models' slices go (§8.9), then its memory. */
static void release_op(struct ra_adapter *a, unsigned q)
{
    ra_fabric_unpin(a, q);
    free_op(&a->queues[q].op);
}

static void fail_op(struct ra_op *op, uint32_t status)
{
    for (uint32_t i = 0; op->items != NULL && i < op->count; i++) {
        ra_job_free(op->items[i].job);
        op->items[i].job = NULL;
    }
    op->status = status;
    op->phase = RA_OP_COMPLETING;
}

/* One location of a descriptor while it is validated (§8.3). */
struct loc {
    bool used;
    uint32_t kind, port, index;
    uint64_t offset, bytes;
    struct ra_adapter *adapter;    /* LOC_ADAPTER: the adapter on that port */
    struct ra_extent *out;
};

static void loc_init(struct loc *l, bool used, uint32_t word, uint64_t offset, struct ra_extent *out)
{
    *l = (struct loc){.used = used,
                      .kind = word >> RA_LOC_KIND_SHIFT,
                      .port = (word >> RA_LOC_PORT_SHIFT) & RA_LOC_PORT_MASK,
                      .index = word & RA_LOC_SLICE_MASK,
                      .offset = offset,
                      .out = out};
}

static bool port_is_local(const struct ra_model *m, uint32_t port)
{
    for (unsigned i = 0; i < m->adapters_open; i++)
        if (m->adapters[i].port == port)
            return true;
    return false;
}

/* The engine a JOB runs is chosen by its CTX slice (§12): a CONTEXT slice runs its slot's function,
 * a COMPUTE slice the hardened matmul. §8.7 check 8. */
static uint32_t resolve_engine(struct ra_adapter *a, struct ra_item *it)
{
    uint32_t index = it->desc.ctx_slice;
    struct ra_slice_state entry = ra_slice_entry(a, index);
    uint32_t kind = entry.kind;
    memset(&it->spec, 0, sizeof it->spec);
    if (kind == RA_SLICE_K_CONTEXT) {
        const struct ra_slot_state *slot = ra_slot_loaded(a, (uint32_t)(entry.base >> RA_SLICE_CTX_SLOT_SHIFT));
        if (slot == NULL)
            return RA_ERR_FUNCTION;
        it->spec.function = slot->function;
        it->spec.stages = slot->stages;
        it->spec.stage_count = slot->stage_count;
        it->spec.key = a->slices[index].key_set ? a->slices[index].key : NULL;
        it->spec.inline_key = (it->desc.flags & RA_DESC_F_INLINE_KEY) != 0;
    } else if (kind == RA_SLICE_K_COMPUTE) {
        it->spec.function = RA_FN_MATMUL_F32;
    } else {
        return RA_ERR_FUNCTION; /* a memory slice runs nothing */
    }
    it->spec.params = it->desc.params;
    it->spec.in_bytes = it->desc.length;
    it->ctx = (struct ra_extent){.adapter = a, .slice = (int)index, .hostmem = -1};
    return RA_ERR_OK;
}

/* §8.7: the checks in the datasheet's order, so that a descriptor with one fault gets exactly the
 * code listed for it. `owner` is QCB_OWNER (check 1 is done per chain by the caller). */
static uint32_t validate_item(struct ra_adapter *a, unsigned q, uint32_t owner, struct ra_item *it)
{
    const struct ra_desc *d = &it->desc;
    const struct ra_config *cfg = &a->model->cfg;
    it->src = it->dst = it->ctx = (struct ra_extent){.slice = -1, .hostmem = -1};
    if (d->opcode != RA_OP_COPY && d->opcode != RA_OP_JOB && d->opcode != RA_OP_FILL)
        return RA_ERR_BAD_OPCODE;
    bool job = d->opcode == RA_OP_JOB;
    struct loc locs[2];
    loc_init(&locs[0], d->opcode != RA_OP_FILL, d->src_loc, d->src_offset, &it->src);
    loc_init(&locs[1], true, d->dst_loc, d->dst_offset, &it->dst);

    /* 3: malformed (INLINE_KEY is a JOB flag; whether the engine takes a key is check 9) */
    uint8_t known_flags = RA_DESC_F_CHAIN | (job ? RA_DESC_F_INLINE_KEY : 0);
    if ((d->flags & ~known_flags) != 0 || d->length == 0 || d->length > cfg->max_transfer_bytes)
        return RA_ERR_BAD_ARGUMENT;
    if (job && d->ctx_slice >= cfg->slices)
        return RA_ERR_BAD_ARGUMENT;
    for (int i = 0; i < 2; i++) {
        struct loc *l = &locs[i];
        /* a slice index is checked against its own adapter's CAP_SLICES: another model's once its
         * port has answered (below), this model's here */
        if (l->used && ((l->kind != RA_LOC_ADAPTER && l->kind != RA_LOC_HOST) ||
                        (l->kind == RA_LOC_ADAPTER &&
                         (l->index >= RA_SLICE_MAX || (port_is_local(a->model, l->port) && l->index >= cfg->slices)))))
            return RA_ERR_BAD_ARGUMENT;
    }
    /* 4: fabric ports */
    for (int i = 0; i < 2; i++) {
        struct loc *l = &locs[i];
        if (l->used && l->kind == RA_LOC_ADAPTER && (l->adapter = ra_adapter_by_port(a->model, l->port)) == NULL)
            return RA_ERR_FABRIC;
    }
    /* another model's port (§8.9): check 3 against its CAP_SLICES, then pin the slice there before
     * its state, key and placement are read, so that its owner's commands wait for this chain */
    for (int i = 0; i < 2; i++) {
        struct loc *l = &locs[i];
        if (!l->used || l->kind != RA_LOC_ADAPTER || !l->adapter->remote)
            continue;
        if (l->index >= reg32(l->adapter, RA_REG_CAP_SLICES))
            return RA_ERR_BAD_ARGUMENT;
        ra_fabric_pin(a, q, l->adapter, l->index);
    }
    /* 5: every named slice ACTIVE (and no command waiting on it); locations are memory slices */
    for (int i = 0; i < 2; i++) {
        struct loc *l = &locs[i];
        if (l->used && l->kind == RA_LOC_ADAPTER &&
            (!ra_slice_usable(l->adapter, l->index) ||
             ra_slice_entry(l->adapter, l->index).kind != RA_SLICE_K_MEMORY))
            return RA_ERR_SLICE_STATE;
    }
    if (job && !ra_slice_usable(a, d->ctx_slice))
        return RA_ERR_SLICE_STATE;
    /* 6: owner key of every named slice */
    for (int i = 0; i < 2; i++) {
        struct loc *l = &locs[i];
        if (l->used && l->kind == RA_LOC_ADAPTER &&
            !ra_slice_key_matches(l->adapter, l->index, d->owner_key))
            return RA_ERR_OWNER_KEY;
    }
    if (job && !ra_slice_key_matches(a, d->ctx_slice, d->owner_key))
        return RA_ERR_OWNER_KEY;
    /* 7: host regions are the executing adapter's, and only their registrant's queues reach them */
    for (int i = 0; i < 2; i++) {
        struct loc *l = &locs[i];
        if (!l->used || l->kind != RA_LOC_HOST)
            continue;
        const struct ra_hostmem *h = l->port < RA_HOSTMEM_MAX ? &a->hostmem[l->port] : NULL;
        if (h == NULL || h->map == NULL || h->blocked || h->dying || h->owner != owner)
            return RA_ERR_HOSTMEM;
    }
    /* 8, 9: engine and its parameters; the output size is known before anything runs */
    uint64_t out_bytes = d->length;
    if (job) {
        uint32_t status = resolve_engine(a, it);
        if (status == RA_ERR_OK)
            status = ra_job_check(&it->spec, &out_bytes);
        if (status != RA_ERR_OK)
            return status;
        it->out_bytes = out_bytes;
    }
    /* 10: bounds (overflow-safe); the destination must hold what will be written */
    locs[0].bytes = d->length;
    locs[1].bytes = out_bytes;
    for (int i = 0; i < 2; i++) {
        struct loc *l = &locs[i];
        if (!l->used)
            continue;
        uint64_t size;
        uint8_t *base;
        if (l->kind == RA_LOC_ADAPTER) {
            struct ra_slice_state entry = ra_slice_entry(l->adapter, l->index);
            size = entry.length;
            uint64_t slice_base = entry.base;
            /* another model's slice table is only as good as its file: never reach past its memory */
            if (l->adapter->remote && (slice_base > l->adapter->mem_bytes || size > l->adapter->mem_bytes - slice_base))
                return RA_ERR_BOUNDS;
            /* §18.7: a granted slice's bytes are in its grant file: map it into our view of that
             * adapter as its owner did (the pin keeps the owner from changing it until we are done) */
            if (l->adapter->remote && !ra_fabric_compose(l->adapter, l->index, slice_base, size))
                return RA_ERR_FABRIC;
            base = l->adapter->mem + slice_base;
            *l->out = (struct ra_extent){.adapter = l->adapter, .slice = (int)l->index, .hostmem = -1};
        } else {
            size = a->hostmem[l->port].bytes;
            base = a->hostmem[l->port].map;
            *l->out = (struct ra_extent){.adapter = a, .slice = -1, .hostmem = (int)l->port};
        }
        if (l->offset > size || l->bytes > size - l->offset)
            return RA_ERR_BOUNDS;
        l->out->ptr = base + l->offset;
    }
    /* memmove semantics across chunks: copy from the end when dst overlaps src from above */
    it->backwards = d->opcode == RA_OP_COPY && it->dst.ptr > it->src.ptr && it->dst.ptr < it->src.ptr + d->length;
    return RA_ERR_OK;
}

static uint32_t validate_op(struct ra_adapter *a, unsigned q)
{
    struct ra_op *op = &a->queues[q].op;
    uint32_t owner = reg32(a, qcb(q, RA_QCB_OWNER));
    if (owner == 0)
        return RA_ERR_QUEUE; /* §8.7 check 1: a queue nobody owns still consumes */
    for (uint32_t i = 0; i < op->count; i++) {
        uint32_t status = validate_item(a, q, owner, &op->items[i]);
        if (status != RA_ERR_OK)
            return status;
    }
    return RA_ERR_OK;
}

/* §7 / §14.4: the owner left. Its queue gets consistent indices, IRQ_ENABLE = 0, POLL_US = 0, then
 * OWNER = 0; submissions not consumed are dropped; counters are kept. */
static void finalize_closed_queue(struct ra_adapter *a, unsigned q)
{
    release_op(a, q);
    memset(&a->queues[q], 0, sizeof a->queues[q]);
    set32(a, qcb(q, RA_QCB_SQ_HEAD), reg32(a, qcb(q, RA_QCB_SQ_TAIL)));
    set32(a, qcb(q, RA_QCB_CQ_HEAD), reg32(a, qcb(q, RA_QCB_CQ_TAIL)));
    set32(a, qcb(q, RA_QCB_IRQ_ENABLE), 0);
    set32(a, qcb(q, RA_QCB_POLL_US), 0);
    set32(a, qcb(q, RA_QCB_AWAKE), 0);
    set32_release(a, qcb(q, RA_QCB_OWNER), 0);
}

/* Take the next complete chain off the submission ring; false when there is none yet. */
static bool start_op(struct ra_adapter *a, unsigned q)
{
    struct ra_queue_state *qs = &a->queues[q];
    struct ra_op *op = &qs->op;
    if (qs->closing) {
        finalize_closed_queue(a, q);
        return false;
    }
    if (a->resetting)
        return false; /* RESET drops what is not consumed yet */
    uint32_t depth = a->model->cfg.ring_depth;
    uint32_t tail = reg32_acquire(a, qcb(q, RA_QCB_SQ_TAIL));
    uint32_t head = reg32(a, qcb(q, RA_QCB_SQ_HEAD));
    if (tail - head > depth) {
        /* §8.1: indices invalid; nothing is consumed until the driver rewrites SQ_TAIL */
        if (!qs->broken)
            set32(a, RA_REG_ERROR, RA_ERR_QUEUE);
        qs->broken = true;
        qs->broken_tail = tail;
        return false;
    }
    qs->broken = false;
    if (tail == head || !cq_has_room(a, q))
        return false; /* §8.1: with a full CQ the queue is not consumed */

    struct ra_desc descs[RA_RING_MAX_DEPTH];
    uint32_t n = 0;
    bool ended = false;
    while (head + n != tail && !ended) {
        read_desc(a, q, sq_entry(a, q, head + n), &descs[n]);
        ended = (descs[n].flags & RA_DESC_F_CHAIN) == 0;
        n++;
    }
    if (!ended && n < depth) {
        qs->chain_wait = true; /* §8.5: started only once its last descriptor is submitted */
        qs->chain_wait_tail = tail;
        return false;
    }
    qs->chain_wait = false;
    /* taken: owner keys are write-only (§10), so the ring keeps none of the chain's */
    for (uint32_t k = 0; k < n; k++)
        bar_zero(a, sq_entry(a, q, head + k) + RA_DESC_OWNER_KEY, 8);

    /* a short chain (the polled round trip's one descriptor) uses the queue's own items: no malloc and
     * free per descriptor; they are zeroed as calloc would */
    op->items_heap = n > RA_OP_INLINE_ITEMS;
    op->items = op->items_heap ? calloc(n, sizeof *op->items) : memset(a->op_items[q], 0, n * sizeof *op->items);
    op->first_index = head;
    op->count = n;
    op->current = 0;
    op->status = RA_ERR_OK;
    set32_release(a, qcb(q, RA_QCB_SQ_HEAD), head + n);
    add64_own(a, qcb(q, RA_QCB_SUBMITTED), n);
    if (op->items == NULL) {
        op->count = 0;
        op->first_index = head + n - 1;
        fail_op(op, RA_ERR_NO_RESOURCE);
        return true;
    }
    for (uint32_t i = 0; i < n; i++)
        op->items[i].desc = descs[i];

    uint32_t status = ended ? validate_op(a, q) : RA_ERR_BAD_ARGUMENT; /* a chain as long as the ring */
    uint32_t stall_ms = 0;
    if (status != RA_ERR_OK)
        fail_op(op, status);
    else if (!ra_fault_armed(a)) /* one load when no fault waits (the usual case) */
        op->phase = RA_OP_RUNNING;
    else if (ra_fault_take(a, RA_FAULT_FAIL_NEXT_DMA, NULL)) /* §6: faults apply after validation */
        fail_op(op, RA_ERR_FAULT_INJECTED);
    else if (ra_fault_take(a, RA_FAULT_STALL_NEXT_DMA, &stall_ms)) {
        op->phase = RA_OP_STALLED;
        op->stall_until_ns = ra_now_ns() + (uint64_t)stall_ms * 1000000u;
    } else
        op->phase = RA_OP_RUNNING;
    RA_TRACE(RA_TRACE_STARTED);
    return true;
}

/* One step of one descriptor: at most `budget` bytes. */
static uint64_t step_item(struct ra_item *it, uint64_t budget, bool *done, uint32_t *status)
{
    const struct ra_desc *d = &it->desc;
    if (d->opcode == RA_OP_JOB) {
        if (it->job == NULL) {
            it->job = ra_job_new(&it->spec, it->src.ptr, it->dst.ptr);
            if (it->job == NULL) {
                *status = RA_ERR_NO_RESOURCE;
                return 0;
            }
        }
        uint64_t n = ra_job_step(it->job, budget, done, status);
        if (*done || *status != RA_ERR_OK) {
            ra_job_free(it->job);
            it->job = NULL;
        }
        return n;
    }
    uint64_t left = d->length - it->done_bytes;
    uint64_t chunk = left < budget ? left : budget;
    if (d->opcode == RA_OP_FILL) {
        memset(it->dst.ptr + it->done_bytes, d->params[0], chunk);
    } else {
        uint64_t off = it->backwards ? left - chunk : it->done_bytes;
        memmove(it->dst.ptr + off, it->src.ptr + off, chunk);
    }
    it->done_bytes += chunk;
    *done = it->done_bytes == d->length;
    return chunk;
}

/* §8.9: a chunk touching another model's adapter first checks that that model still runs. */
static bool reachable(const struct ra_item *it)
{
    return (it->src.adapter == NULL || !it->src.adapter->remote || ra_fabric_alive(it->src.adapter)) &&
           (it->dst.adapter == NULL || !it->dst.adapter->remote || ra_fabric_alive(it->dst.adapter));
}

static bool in_remote_memory(const struct ra_extent *e, const void *addr)
{
    const uint8_t *p = addr;
    return e->adapter != NULL && e->adapter->remote && p >= e->adapter->mem &&
           p < e->adapter->mem + e->adapter->mem_bytes;
}

/* sigsetjmp lives in its own frame so that no caller variable can be clobbered by the longjmp */
static bool guarded_step(struct ra_item *it, uint64_t budget, uint64_t *moved, bool *done, uint32_t *status)
{
    guard_armed = 1;
    if (sigsetjmp(guard_jmp, 0) != 0) /* no mask to save: see ra_dma_install_guard */
        return false;
    *moved = step_item(it, budget, done, status);
    guard_armed = 0;
    return true;
}

/* When a turn ends early: its time is up, or an admin command waits (looked at every
 * RA_DMA_ADMIN_LOOK_NS: a look reads two registers of every adapter). */
struct turn_clock {
    const struct ra_model *model;
    uint64_t until_ns, next_look_ns;
};

static bool turn_over(struct turn_clock *c, uint64_t now_ns)
{
    if (now_ns >= c->until_ns)
        return true;
    if (now_ns < c->next_look_ns)
        return false;
    c->next_look_ns = now_ns + RA_DMA_ADMIN_LOOK_NS;
    return ra_admin_waiting(c->model);
}

/* Steps of the chain until it is done, `budget` bytes are spent or the turn is over. The clock read
 * after a step also charges the step's time to its descriptor (SLICE_BUSY_NS, §8.8); a step starts at
 * the reading before it (*now_ns: the turn's, then each step's), so that a descriptor's first step also
 * counts its fetch and validation (§8.7), as an engine's would; *now_ns leaves with the last. */
static uint64_t run_op(struct ra_op *op, uint64_t budget, struct turn_clock *clock, uint64_t *now_ns)
{
    uint64_t spent = 0, t0 = *now_ns;
    while (op->current < op->count && spent < budget) {
        struct ra_item *it = &op->items[op->current];
        uint64_t moved = 0, step = budget - spent;
        bool done = false;
        uint32_t status = RA_ERR_OK;
        if (step > RA_MODEL_STEP_BYTES)
            step = RA_MODEL_STEP_BYTES;
        if (!reachable(it))
            status = RA_ERR_FABRIC; /* the other model stopped: what was written stays, no more */
        else if (!guarded_step(it, step, &moved, &done, &status))
            /* SIGBUS: a host region file (or another model's memory file) shrank under the mapping */
            status = in_remote_memory(&it->src, guard_addr) || in_remote_memory(&it->dst, guard_addr)
                         ? RA_ERR_FABRIC
                         : RA_ERR_HOSTMEM;
        uint64_t t1 = ra_now_ns();
        it->busy_ns += t1 - t0;
        t0 = *now_ns = t1;
        spent += moved ? moved : 1;
        if (status != RA_ERR_OK) {
            fail_op(op, status);
            return spent;
        }
        if (done)
            op->current++;
        if (turn_over(clock, t1))
            break; /* the next turn goes on from here */
    }
    if (op->current == op->count) {
        op->phase = RA_OP_COMPLETING;
        RA_TRACE(RA_TRACE_RAN);
    }
    return spent;
}

/* §8.8: counters of every slice a successful descriptor named, on the adapter that owns it: bytes
 * read from or written to it, its execution time, one job, and the clock at completion: `now_ns`, the
 * reading after its last step (or, for a completion that waited for CQ room, the one its turn began
 * with), not a clock read of its own. */
static void charge(const struct ra_item *it, uint64_t now_ns)
{
    struct { const struct ra_extent *e; uint64_t bytes; } named[3] = {
        {&it->src, it->desc.length},
        {&it->dst, it->desc.opcode == RA_OP_JOB ? it->out_bytes : it->desc.length},
        {&it->ctx, it->desc.length},
    };
    for (unsigned i = 0; i < 3; i++) {
        const struct ra_extent *e = named[i].e;
        if (e->adapter == NULL || e->slice < 0)
            continue;
        bool seen = false; /* a slice named twice (a copy inside one slice) is one job */
        for (unsigned j = 0; j < i; j++)
            seen = seen || (named[j].e->adapter == e->adapter && named[j].e->slice == e->slice);
        if (seen)
            continue;
        uint64_t bytes = named[i].bytes;
        for (unsigned j = i + 1; j < 3; j++)
            if (named[j].e->adapter == e->adapter && named[j].e->slice == e->slice)
                bytes += named[j].bytes;
        struct ra_adapter *t = e->adapter;
        uint32_t s = (uint32_t)e->slice;
        if (!ra_slice_key_matches(t, s, it->desc.owner_key))
            continue; /* not the slice the descriptor named any more */
        if (t->remote && !ra_fabric_alive(t))
            continue; /* §8.9: another model that stopped keeps no counters */
        /* another model's clock is its own: read it, never write it (its owner refreshes it) */
        uint64_t clock_ns = t->remote ? reg64(t, RA_REG_CLOCK_NS) : now_ns - t->model->start_ns;
        if (!t->remote)
            set64(t, RA_REG_CLOCK_NS, clock_ns);
        /* atomic adds only where another model may charge the slice too (§8.9: an adapter on a
         * fabric, which has a gate); on no fabric this thread is the only one (a locked add each) */
        void (*add)(struct ra_adapter *, uint32_t, uint64_t) = t->remote || t->gate != NULL ? add64 : add64_own;
        add(t, slice_reg(s, RA_SLICE_BYTES_MOVED), bytes);
        add(t, slice_reg(s, RA_SLICE_BUSY_NS), it->busy_ns);
        add(t, slice_reg(s, RA_SLICE_JOBS), 1);
        set64(t, slice_reg(s, RA_SLICE_LAST_ACTIVE_NS), clock_ns);
    }
}

/* §8.6: slice counters, the CQE, the queue counters, CQ_TAIL (release), then the interrupt. A queue
 * whose owner left gets no CQE: the descriptor finished, the queue is handed back. */
static bool complete_op(struct ra_adapter *a, unsigned q, uint64_t now_ns)
{
    struct ra_queue_state *qs = &a->queues[q];
    struct ra_op *op = &qs->op;
    if (!qs->closing && !cq_has_room(a, q))
        return false; /* never overwrite a completion the driver has not consumed */
    uint32_t last = op->first_index + (op->count ? op->count - 1 : 0);
    uint32_t cookie = op->count ? op->items[op->count - 1].desc.cookie : 0;
    uint64_t out_bytes = 0;
    if (op->status == RA_ERR_OK) {
        for (uint32_t i = 0; i < op->count; i++) {
            const struct ra_item *it = &op->items[i];
            out_bytes += it->desc.opcode == RA_OP_JOB ? it->out_bytes : it->desc.length;
            charge(it, now_ns);
        }
    }
    ra_fabric_unpin(a, q); /* every byte is written: other models' commands need not wait any more */
    if (qs->closing) {
        finalize_closed_queue(a, q);
        return true;
    }
    uint32_t tail = reg32(a, qcb(q, RA_QCB_CQ_TAIL));
    uint32_t e = cq_entry(a, q, tail);
    set32(a, e + RA_CQE_COOKIE, cookie);
    set32(a, e + RA_CQE_STATUS, op->status);
    set32(a, e + RA_CQE_SQ_INDEX, last);
    set32(a, e + RA_CQE_OUT_BYTES, (uint32_t)out_bytes);
    /* queue counters before CQ_TAIL too: whoever sees the completion also sees it counted */
    add64_own(a, qcb(q, RA_QCB_COMPLETED), 1);
    if (op->status != RA_ERR_OK)
        add64_own(a, qcb(q, RA_QCB_ERRORS), 1);
    set32_release(a, qcb(q, RA_QCB_CQ_TAIL), tail + 1);
    RA_TRACE(RA_TRACE_DONE);
    release_op(a, q);
    /* §8.6: a full fence between the CQ_TAIL store and the IRQ_ENABLE load. A polled driver keeps
     * IRQ_ENABLE = 0 while it spins (an interrupt per completion cost a system call, ~1 us of a polled
     * round trip) and, before it sleeps, stores 1, fences and re-reads CQ_TAIL: one of the two sides
     * then sees the other's store, so no completion is left without its interrupt. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (reg32(a, qcb(q, RA_QCB_IRQ_ENABLE)) != 0)
        ra_server_raise(a, reg32(a, qcb(q, RA_QCB_OWNER)), RA_VEC_QUEUE0 + q);
    return true;
}

/* One turn of queue q: chains taken, run and completed until `budget_bytes` are moved, the turn has
 * lasted RA_MODEL_TURN_NS, an admin command waits, or RA_DMA_OPS_PER_TURN chains were looked at.
 * *now_ns: a clock reading the caller just took; it leaves with the turn's last one. The turn reads the
 * clock only after each step it moves (run_op): a clock read costs about 30 ns with a free core and
 * 90 ns on a loaded one (clock_gettime, kvm-clock), and a polled round trip's turn used to read it
 * five times. The time bound, the admin look and the completion clock take the last reading, at most
 * one step's bookkeeping old; a deadline (a STALL) still reads the clock itself. */
bool ra_dma_turn(struct ra_adapter *a, unsigned q, uint64_t budget_bytes, uint64_t *now_ns)
{
    struct ra_op *op = &a->queues[q].op;
    bool worked = false, completed = false;
    uint64_t spent = 0;
    RA_TRACE(RA_TRACE_TURN);
    struct turn_clock clock = {a->model, *now_ns + RA_MODEL_TURN_NS, *now_ns + RA_DMA_ADMIN_LOOK_NS};
    for (unsigned ops = 0; spent < budget_bytes && ops < RA_DMA_OPS_PER_TURN; ops++) {
        if (op->phase == RA_OP_IDLE && !start_op(a, q))
            break;
        worked = true;
        if (op->phase == RA_OP_STALLED) {
            if ((*now_ns = ra_now_ns()) < op->stall_until_ns)
                break;
            op->phase = RA_OP_RUNNING;
        }
        if (op->phase == RA_OP_RUNNING) {
            spent += run_op(op, budget_bytes - spent, &clock, now_ns);
            if (op->phase == RA_OP_RUNNING)
                break; /* bytes or time spent: other queues, and the admin mailbox, get their turn */
        }
        if (op->phase == RA_OP_COMPLETING) {
            if (!complete_op(a, q, *now_ns))
                break;
            completed = true;
        }
        if (turn_over(&clock, *now_ns))
            break;
    }
    if (completed && a->queues[q].tenant_key != 0) /* §18.4: a window's queue: its CQEs go back at once */
        ra_tenants_queue_done(a, q, *now_ns);
    return worked;
}

bool ra_dma_runnable(struct ra_adapter *a, unsigned q)
{
    const struct ra_queue_state *qs = &a->queues[q];
    if (a->halted)
        return false;
    switch (qs->op.phase) {
    case RA_OP_STALLED:
        return ra_now_ns() >= qs->op.stall_until_ns;
    case RA_OP_RUNNING:
        return true;
    case RA_OP_COMPLETING:
        return qs->closing || cq_has_room(a, q);
    case RA_OP_IDLE:
        break;
    }
    if (qs->closing)
        return true;
    if (a->resetting)
        return false;
    uint32_t tail = reg32(a, qcb(q, RA_QCB_SQ_TAIL));
    if (qs->broken)
        return tail != qs->broken_tail;
    if (qs->chain_wait)
        return tail != qs->chain_wait_tail;
    return tail != reg32(a, qcb(q, RA_QCB_SQ_HEAD)) && cq_has_room(a, q);
}

uint64_t ra_dma_next_deadline(const struct ra_adapter *a)
{
    uint64_t deadline = UINT64_MAX;
    for (unsigned q = 0; q < a->model->cfg.queues; q++)
        if (a->queues[q].op.phase == RA_OP_STALLED && a->queues[q].op.stall_until_ns < deadline)
            deadline = a->queues[q].op.stall_until_ns;
    return deadline;
}

/* Descriptors "in progress" (§5.4): validated and not yet done moving bytes, on adapters that still
 * run (a halted adapter's descriptors never finish, and never touch anything again). */
static bool in_progress(const struct ra_adapter *x, unsigned q)
{
    const struct ra_op *op = &x->queues[q].op;
    return !x->halted && op->items != NULL && (op->phase == RA_OP_STALLED || op->phase == RA_OP_RUNNING);
}

static bool extent_blocked(const struct ra_extent *e, const struct ra_adapter *a)
{
    if (e->adapter != a)
        return false;
    return a->resetting || (e->slice >= 0 && a->slices[e->slice].blocked) ||
           (e->hostmem >= 0 && a->hostmem[e->hostmem].blocked);
}

/* May the command in progress on `a` apply? True once no descriptor in progress touches what it
 * blocked (for RESET: anything of `a`, or running on `a`'s queues). */
bool ra_dma_quiet(const struct ra_adapter *a)
{
    const struct ra_model *m = a->model;
    for (unsigned i = 0; i < m->adapters_open; i++) {
        const struct ra_adapter *x = &m->adapters[i];
        for (unsigned q = 0; q < m->cfg.queues; q++) {
            if (!in_progress(x, q))
                continue;
            if (a->resetting && x == a)
                return false;
            const struct ra_op *op = &x->queues[q].op;
            for (uint32_t k = 0; k < op->count; k++) {
                const struct ra_item *it = &op->items[k];
                if (extent_blocked(&it->src, a) || extent_blocked(&it->dst, a) || extent_blocked(&it->ctx, a))
                    return false;
            }
        }
    }
    return true;
}

static bool extent_is(const struct ra_extent *e, const struct ra_adapter *a, int slice, int hostmem)
{
    return e->adapter == a && ((slice >= 0 && e->slice == slice) || (hostmem >= 0 && e->hostmem == hostmem));
}

/* Does a descriptor in progress use slice `slice` or host region `hostmem` of `a`? */
bool ra_dma_touches(const struct ra_adapter *a, int slice, int hostmem)
{
    const struct ra_model *m = a->model;
    for (unsigned i = 0; i < m->adapters_open; i++) {
        const struct ra_adapter *x = &m->adapters[i];
        for (unsigned q = 0; q < m->cfg.queues; q++) {
            if (!in_progress(x, q))
                continue;
            const struct ra_op *op = &x->queues[q].op;
            for (uint32_t k = 0; k < op->count; k++) {
                const struct ra_item *it = &op->items[k];
                if (extent_is(&it->src, a, slice, hostmem) || extent_is(&it->dst, a, slice, hostmem) ||
                    extent_is(&it->ctx, a, slice, hostmem))
                    return true;
            }
        }
    }
    return false;
}

/* Shutdown: forget the queue's private state, touch no register. */
void ra_dma_queue_drop(struct ra_adapter *a, unsigned q)
{
    release_op(a, q);
    memset(&a->queues[q], 0, sizeof a->queues[q]);
}

/* §7: the owner disconnected: finish the descriptor in progress (no CQE), then hand the queue back. */
void ra_dma_queue_owner_left(struct ra_adapter *a, unsigned q)
{
    struct ra_queue_state *qs = &a->queues[q];
    qs->closing = true;
    if (qs->op.phase == RA_OP_IDLE)
        finalize_closed_queue(a, q);
    else if (qs->op.phase == RA_OP_COMPLETING)
        complete_op(a, q, ra_now_ns());
    /* STALLED, RUNNING: ra_dma_turn finishes it, then complete_op hands the queue back */
}

/* CMD_RESET (§5.4): nothing is in progress here any more; drop the rest and zero the four indices.
 * OWNER, IRQ_ENABLE, POLL_US and the counters stay. */
void ra_dma_queue_reset_indices(struct ra_adapter *a, unsigned q)
{
    struct ra_queue_state *qs = &a->queues[q];
    if (qs->closing) {
        finalize_closed_queue(a, q);
    } else {
        release_op(a, q);
        memset(qs, 0, sizeof *qs);
    }
    set32(a, qcb(q, RA_QCB_SQ_TAIL), 0);
    set32(a, qcb(q, RA_QCB_SQ_HEAD), 0);
    set32(a, qcb(q, RA_QCB_CQ_TAIL), 0);
    set32(a, qcb(q, RA_QCB_CQ_HEAD), 0);
    set32(a, qcb(q, RA_QCB_AWAKE), 0);
}

/* §8.6 adaptive polling: after work, a queue with POLL_US > 0 is watched by spinning (AWAKE = 1) for
 * POLL_US; then AWAKE = 0, a full fence, and one more look at SQ_TAIL, so that a driver that
 * skipped the doorbell because AWAKE was still 1 is never left unserved. */
void ra_dma_poll_update(struct ra_adapter *a, unsigned q, bool worked, uint64_t now_ns)
{
    struct ra_queue_state *qs = &a->queues[q];
    uint64_t poll_ns = (uint64_t)reg32(a, qcb(q, RA_QCB_POLL_US)) * 1000u;
    if (worked && poll_ns > 0 && !qs->closing) {
        qs->poll_until_ns = now_ns + poll_ns;
        if (!qs->spinning) {
            qs->spinning = true;
            set32(a, qcb(q, RA_QCB_AWAKE), 1);
        }
        return;
    }
    if (!qs->spinning || (poll_ns > 0 && now_ns < qs->poll_until_ns))
        return;
    set32(a, qcb(q, RA_QCB_AWAKE), 0);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (poll_ns > 0 && ra_dma_runnable(a, q)) {
        set32(a, qcb(q, RA_QCB_AWAKE), 1);
        qs->poll_until_ns = now_ns + poll_ns;
        return;
    }
    qs->spinning = false;
}
