/*
 * tenant.c - tenant windows (ra-spec §18): a page per granted queue that shows its holder only what
 * it was granted, as an SR-IOV virtual function or an NVMe queue pair does.
 *
 * A window is its own file, DIR/ra<i>.tw<w>-<nonce>, never the register file: it holds a header, the
 * grant table (port, slice, placement; never an owner key), a submission and a completion ring. The
 * agent opens it with CMD_TENANT_OPEN, binding it to one free queue q and one owner key, and closes
 * (revokes) it with CMD_TENANT_CLOSE.
 *
 * The model forwards: it copies each complete chain out of the window's SQ into private memory, checks
 * that every location and context the chain names is in the grant table, writes the chain into queue
 * q's ring of the register file (DESC_OWNER_KEY 0: dma.c puts the window's key in from private
 * memory, so no view of the BAR shows it), and later copies the
 * completion back into the window's CQ with the window's own SQ index. A chain naming anything not
 * granted completes with ERR_OWNER_KEY (a host region: ERR_HOSTMEM) and is never forwarded. dma.c then
 * validates and runs the forwarded chain exactly as any other (§8.7).
 *
 * Doorbell and interrupt (§18.5): two FIFOs beside the window file, <path>.db (the holder writes a
 * byte after SQ_TAIL unless the window's AWAKE = 1; the model's loop wakes on it) and <path>.irq (the
 * model writes a byte after posting completions while the window's TW_IRQ_ENABLE is set) - what an
 * MSI-X vector of a virtual function is on hardware, and what the eventfds of the ivshmem protocol
 * are for the agent (§14). Polling (§18.5): after work the loop spins on the window's SQ_TAIL for
 * its POLL_US with AWAKE = 1, like io_uring's SQPOLL thread, then sleeps until the doorbell.
 *
 * Everything the model reads from a window is a value the tenant may have scribbled: indices are
 * compared modulo 2^32 and masked by the depth, descriptors are copied before they are looked at, and
 * nothing read from the window is used as a pointer or a length without those checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bar.h"
#include "model.h"
#include "trace.h"

/* §18.1: what the holder writes (SQ_TAIL, CQ_HEAD, IRQ_ENABLE, POLL_US) and what the adapter writes
 * (SQ_HEAD, CQ_TAIL, AWAKE) lie on two cache lines of their own, apart from the header and the rings:
 * one line shared by both writers would move between the two cores at every store of either side. */
#define TW_LINE(off) ((off) / RA_TW_LINE_BYTES)
_Static_assert(TW_LINE(RA_TW_SQ_TAIL) == TW_LINE(RA_TW_POLL_US) && TW_LINE(RA_TW_CQ_HEAD) == TW_LINE(RA_TW_SQ_TAIL) &&
                   TW_LINE(RA_TW_IRQ_ENABLE) == TW_LINE(RA_TW_SQ_TAIL),
               "the holder's queue fields share one cache line");
_Static_assert(TW_LINE(RA_TW_SQ_HEAD) == TW_LINE(RA_TW_CQ_TAIL) && TW_LINE(RA_TW_AWAKE) == TW_LINE(RA_TW_SQ_HEAD),
               "the adapter's queue fields share one cache line");
_Static_assert(TW_LINE(RA_TW_SQ_TAIL) != TW_LINE(RA_TW_SQ_HEAD) && TW_LINE(RA_TW_MAX_TRANSFER + 7) < TW_LINE(RA_TW_SQ_TAIL) &&
                   TW_LINE(RA_TW_AWAKE) < TW_LINE(RA_TW_GRANTS),
               "the holder's and the adapter's lines are apart from each other, the header and the grants");
_Static_assert(RA_TW_SQ % RA_TW_LINE_BYTES == 0 && RA_TW_CQ % RA_TW_LINE_BYTES == 0 &&
                   RA_TW_SQ + RA_RING_MAX_DEPTH * RA_DESC_BYTES <= RA_TW_CQ,
               "descriptors (written by the holder) and CQEs (by the adapter) never share a line");

/* The windows open and not revoked: bit w of a->tenants_live, set by open_apply and cleared by
 * revoke_window. The loop's looks (every spin look, every pass) go over these only: a look at all
 * RA_TENANT_MAX windows touched a line of each, 8.5 KB apart, and was most of a spin look. */
_Static_assert(RA_TENANT_MAX <= 32, "tenants_live holds a bit per window");
#define FOR_LIVE(a, w)                                                                                             \
    for (uint32_t live_ = (a)->tenants_live, w = 0; live_ != 0 && ((w = (uint32_t)__builtin_ctz(live_)), 1);     \
         live_ &= live_ - 1)

static uint32_t tw32(const struct ra_tenant *t, uint32_t off)
{
    return __atomic_load_n((uint32_t *)(t->map + off), __ATOMIC_ACQUIRE);
}

static void tw_set32(struct ra_tenant *t, uint32_t off, uint32_t v)
{
    __atomic_store_n((uint32_t *)(t->map + off), v, __ATOMIC_RELEASE);
}

static void tw_set64(struct ra_tenant *t, uint32_t off, uint64_t v)
{
    __atomic_store_n((uint64_t *)(t->map + off), v, __ATOMIC_RELEASE);
}

static uint32_t depth(const struct ra_adapter *a)
{
    return a->model->cfg.ring_depth;
}

/* ---- TENANT_OPEN -------------------------------------------------------------------------------- */
struct grant {
    uint32_t port, slice;
};

static struct grant grant_at(const struct ra_cmd *c, uint32_t k)
{
    const uint8_t *p = c->data + RA_TENANT_NONCE_BYTES + k * RA_TENANT_GRANT_BYTES;
    return (struct grant){.port = le32(p), .slice = le32(p + 4)};
}

/* §18.3 checks in order: window index, free window, queue, key, grant count and data, each grant. */
static uint32_t open_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[0] >= RA_TENANT_MAX || a->tenants[c->arg[0]].open)
        return RA_ERR_BAD_ARGUMENT;
    if (c->arg[1] >= a->model->cfg.queues || reg32(a, qcb((unsigned)c->arg[1], RA_QCB_OWNER)) != 0)
        return RA_ERR_QUEUE;
    if (c->arg[2] == 0)
        return RA_ERR_OWNER_KEY;
    if (c->arg[3] == 0 || c->arg[3] > RA_TENANT_GRANT_MAX ||
        c->data_bytes != RA_TENANT_NONCE_BYTES + c->arg[3] * RA_TENANT_GRANT_BYTES)
        return RA_ERR_BAD_ARGUMENT;
    for (uint32_t k = 0; k < c->arg[3]; k++) {
        struct grant g = grant_at(c, k);
        struct ra_adapter *t = g.port <= RA_LOC_PORT_MASK ? ra_adapter_by_port(a->model, g.port) : NULL;
        if (t == NULL)
            return RA_ERR_FABRIC;
        if (t->remote)
            continue; /* another model's slice: every descriptor is checked there (§8.9) */
        if (g.slice >= a->model->cfg.slices)
            return RA_ERR_BAD_ARGUMENT;
        struct ra_slice_state e = ra_slice_entry(t, g.slice);
        if (e.owner_key != c->arg[2])
            return RA_ERR_OWNER_KEY;
        if (e.state != RA_SLICE_S_RESERVED && e.state != RA_SLICE_S_ACTIVE)
            return RA_ERR_SLICE_STATE;
    }
    return RA_ERR_OK;
}

static int create_window_file(struct ra_adapter *a, struct ra_tenant *t, unsigned w, const uint8_t *nonce)
{
    char hex[2 * RA_TENANT_NONCE_BYTES + 1];
    for (unsigned i = 0; i < RA_TENANT_NONCE_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", nonce[i]);
    snprintf(t->path, sizeof t->path, "%s/ra%u.tw%u-%s", a->model->cfg.dir, a->index, w, hex);
    /* a new file every time: a revoked holder's mapping stays on the old, unlinked inode */
    unlink(t->path);
    t->fd = open(t->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (t->fd < 0)
        return -1;
    if (ftruncate(t->fd, RA_TW_BYTES) != 0)
        goto fail;
    void *p = mmap(NULL, RA_TW_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
    if (p == MAP_FAILED)
        goto fail;
    t->map = p;
    return 0;
fail:
    fprintf(stderr, RA_MODEL_NAME ": cannot create tenant window %s: %s\n", t->path, strerror(errno));
    close(t->fd);
    unlink(t->path);
    t->fd = -1;
    return -1;
}

static void fifo_path(const struct ra_tenant *t, const char *suffix, char *out, size_t size)
{
    snprintf(out, size, "%s.%s", t->path, suffix);
}

/* §18.5: the window's doorbell and interrupt FIFOs. The model holds both open read-write, so neither
 * blocks nor sees EOF; the holder's read end of .irq sees a hang-up once the model closes it. */
static int create_fifos(struct ra_adapter *a, struct ra_tenant *t, unsigned w)
{
    char db[4200], irq[4200];
    fifo_path(t, "db", db, sizeof db);
    fifo_path(t, "irq", irq, sizeof irq);
    unlink(db);
    unlink(irq);
    if (mkfifo(db, 0600) != 0 || mkfifo(irq, 0600) != 0)
        goto fail;
    t->doorbell_fd = open(db, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    t->irq_fd = open(irq, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (t->doorbell_fd < 0 || t->irq_fd < 0)
        goto fail;
    t->doorbell_watch = (struct ra_watch){.kind = RA_W_TENANT_DOORBELL, .adapter = a, .vector = w};
    if (ra_loop_watch(a->model, t->doorbell_fd, &t->doorbell_watch) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, RA_MODEL_NAME ": cannot create the doorbell and interrupt of %s: %s\n", t->path, strerror(errno));
    if (t->doorbell_fd >= 0)
        close(t->doorbell_fd);
    if (t->irq_fd >= 0)
        close(t->irq_fd);
    t->doorbell_fd = t->irq_fd = -1;
    unlink(db);
    unlink(irq);
    return -1;
}

static void close_fifos(struct ra_adapter *a, struct ra_tenant *t)
{
    if (t->doorbell_fd >= 0) {
        ra_loop_unwatch(a->model, t->doorbell_fd);
        close(t->doorbell_fd);
    }
    if (t->irq_fd >= 0)
        close(t->irq_fd); /* the holder's read end sees a hang-up: revoked */
    t->doorbell_fd = t->irq_fd = -1;
}

static void unlink_files(struct ra_tenant *t)
{
    char p[4200];
    unlink(t->path);
    fifo_path(t, "db", p, sizeof p);
    unlink(p);
    fifo_path(t, "irq", p, sizeof p);
    unlink(p);
}

/* The heartbeat tick empties every window's doorbell FIFO. The loop watches them edge-triggered and
 * does not read them when they ring (loop.c): a holder rings at most once per system call, about a
 * thousand times per tick, far from the FIFO's 64 KiB; one that fills its own FIFO on purpose only
 * loses wake-ups until the next tick, when the window is looked at anyway (§18.5). */
void ra_tenants_drain_doorbells(struct ra_adapter *a)
{
    uint8_t buf[4096];
    for (unsigned w = 0; w < RA_TENANT_MAX; w++) {
        struct ra_tenant *t = &a->tenants[w];
        /* a short read emptied it: no second read just to see EAGAIN */
        while (t->open && t->doorbell_fd >= 0 && read(t->doorbell_fd, buf, sizeof buf) == (ssize_t)sizeof buf) {
        }
    }
}

/* §18.7: the memory slices of this adapter that the window grants get grant files. */
static bool grants_local_memory(const struct ra_adapter *a, struct grant g)
{
    return g.port == a->port && g.slice < a->model->cfg.slices && a->slices[g.slice].kind == RA_SLICE_K_MEMORY;
}

/* They move into their grant files once no descriptor moves their bytes (§5.4, §8.9). */
static void open_block(struct ra_adapter *a, const struct ra_cmd *c)
{
    for (uint32_t k = 0; k < c->arg[3]; k++) {
        struct grant g = grant_at(c, k);
        if (grants_local_memory(a, g))
            a->slices[g.slice].blocked = true;
    }
}

static void end_overlays_of(struct ra_adapter *a, unsigned w, bool keep_bytes)
{
    for (uint32_t i = 0; i < RA_SLICE_MAX; i++)
        if (a->overlays[i].active && a->overlays[i].window == w)
            ra_overlay_end(a, i, keep_bytes);
}

static int begin_overlays(struct ra_adapter *a, struct ra_tenant *t, unsigned w, const struct ra_cmd *c)
{
    for (uint32_t k = 0; k < c->arg[3]; k++) {
        struct grant g = grant_at(c, k);
        if (!grants_local_memory(a, g) || (a->overlays[g.slice].active && a->overlays[g.slice].window == w))
            continue; /* not ours to back, or named twice */
        char path[4200];
        snprintf(path, sizeof path, "%s.m%u", t->path, g.slice);
        if (ra_overlay_begin(a, g.slice, w, path) != 0) {
            end_overlays_of(a, w, true);
            return -1;
        }
    }
    return 0;
}

static uint32_t open_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    unsigned w = (unsigned)c->arg[0], q = (unsigned)c->arg[1];
    struct ra_tenant *t = &a->tenants[w];
    memset(t, 0, sizeof *t);
    t->fd = t->doorbell_fd = t->irq_fd = -1;
    if (create_window_file(a, t, w, c->data) != 0)
        return RA_ERR_NO_RESOURCE;
    bool fifos = create_fifos(a, t, w) == 0;
    bool overlays = fifos && begin_overlays(a, t, w, c) == 0;
    /* the queue was free at check time; a client may have claimed it since */
    if (!overlays || !cas32(a, qcb(q, RA_QCB_OWNER), 0, RA_TENANT_QUEUE_OWNER + w)) {
        end_overlays_of(a, w, true);
        close_fifos(a, t);
        munmap(t->map, RA_TW_BYTES);
        close(t->fd);
        unlink_files(t);
        memset(t, 0, sizeof *t);
        t->fd = t->doorbell_fd = t->irq_fd = -1;
        return overlays ? RA_ERR_QUEUE : RA_ERR_NO_RESOURCE;
    }
    t->queue = q;
    t->owner_key = c->arg[2];
    a->queues[q].tenant_key = t->owner_key; /* dma.c puts it into what the queue runs; never in the BAR */
    t->grant_count = (uint32_t)c->arg[3];
    /* a free queue has consistent indices (§7): the forwarder continues from them */
    t->hw_sq = reg32(a, qcb(q, RA_QCB_SQ_TAIL));
    set32(a, qcb(q, RA_QCB_IRQ_ENABLE), 0);
    for (uint32_t k = 0; k < t->grant_count; k++) {
        struct grant g = grant_at(c, k);
        t->grants[k].port = g.port;
        t->grants[k].slice = g.slice;
        uint32_t off = RA_TW_GRANTS + k * RA_TW_GRANT_STRIDE;
        struct ra_adapter *x = ra_adapter_by_port(a->model, g.port);
        tw_set32(t, off + RA_TW_GRANT_PORT, g.port);
        tw_set32(t, off + RA_TW_GRANT_SLICE, g.slice);
        if (x != NULL && !x->remote) {
            struct ra_slice_state e = ra_slice_entry(x, g.slice);
            tw_set32(t, off + RA_TW_GRANT_KIND, e.kind);
            tw_set64(t, off + RA_TW_GRANT_BASE, e.base);
            tw_set64(t, off + RA_TW_GRANT_LENGTH, e.length);
        }
    }
    tw_set32(t, RA_TW_QUEUE, q);
    tw_set32(t, RA_TW_RING_DEPTH, depth(a));
    tw_set32(t, RA_TW_FABRIC_ID, a->port);
    tw_set32(t, RA_TW_GRANTED, t->grant_count);
    tw_set64(t, RA_TW_MAX_TRANSFER, a->model->cfg.max_transfer_bytes);
    tw_set32(t, RA_TW_STATE, RA_TW_S_OPEN);
    tw_set32(t, RA_TW_MAGIC, RA_TW_MAGIC_VALUE); /* last: the window is set up */
    t->open = true;
    a->tenants_live |= 1u << w;
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_tenant_open = {.check = open_check, .block = open_block, .apply = open_apply};

/* ---- TENANT_CLOSE: revoked at once (block), the queue handed back once nothing runs on it -------- */
static uint32_t close_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[0] >= RA_TENANT_MAX || !a->tenants[c->arg[0]].open)
        return RA_ERR_BAD_ARGUMENT;
    if (c->arg[2] == 0 || c->arg[2] != a->tenants[c->arg[0]].owner_key)
        return RA_ERR_OWNER_KEY;
    return RA_ERR_OK;
}

/* From here on nothing more of the window is taken or delivered; its file name is gone, so no one
 * maps it again. A chain already forwarded finishes (a later SLICE_RELEASE waits for it, §5.4). */
static void revoke_window(struct ra_adapter *a, struct ra_tenant *t)
{
    a->tenants_live &= ~(1u << (unsigned)(t - a->tenants));
    t->revoked = true;
    t->awake = false;
    tw_set32(t, RA_TW_AWAKE, 0);
    tw_set32(t, RA_TW_STATE, RA_TW_S_REVOKED);
    unlink_files(t);
    if (t->irq_fd >= 0) {
        close(t->irq_fd); /* a holder waiting for an interrupt wakes with a hang-up at once */
        t->irq_fd = -1;
    }
}

/* ... and its granted memory slices go back to the memory file once no descriptor moves their bytes */
static void close_block(struct ra_adapter *a, const struct ra_cmd *c)
{
    unsigned w = (unsigned)c->arg[0];
    revoke_window(a, &a->tenants[w]);
    for (uint32_t i = 0; i < RA_SLICE_MAX; i++)
        if (a->overlays[i].active && a->overlays[i].window == w)
            a->slices[i].blocked = true;
}

/* keep_bytes: the granted memory slices keep their bytes (they stay allocated: resize, migration);
 * false when they are scrubbed next anyway (reset) */
static void close_window(struct ra_adapter *a, struct ra_tenant *t, bool keep_bytes)
{
    if (!t->revoked)
        revoke_window(a, t);
    /* §18.7: before the command completes, so before any release is acknowledged */
    end_overlays_of(a, (unsigned)(t - a->tenants), keep_bytes);
    ra_dma_queue_owner_left(a, t->queue); /* finishes a descriptor in progress, then OWNER = 0 */
    a->queues[t->queue].tenant_key = 0;
    close_fifos(a, t);
    munmap(t->map, RA_TW_BYTES);
    close(t->fd);
    memset(t, 0, sizeof *t);
    t->fd = t->doorbell_fd = t->irq_fd = -1;
}

static uint32_t close_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    close_window(a, &a->tenants[c->arg[0]], true);
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_tenant_close = {.check = close_check, .block = close_block, .apply = close_apply};

/* CMD_RESET and power-off: every window is revoked and its queue handed back. */
void ra_tenants_close_all(struct ra_adapter *a, bool keep_bytes)
{
    for (unsigned w = 0; w < RA_TENANT_MAX; w++)
        if (a->tenants[w].open)
            close_window(a, &a->tenants[w], keep_bytes);
    ra_overlays_end_all(a, keep_bytes); /* none should be left; none may be */
}

/* ---- forwarding ------------------------------------------------------------------------------------ */
static bool granted(const struct ra_tenant *t, uint32_t port, uint32_t slice)
{
    for (uint32_t k = 0; k < t->grant_count; k++)
        if (t->grants[k].port == port && t->grants[k].slice == slice)
            return true;
    return false;
}

/* §18.4: may this descriptor go to the queue? Only locations and contexts of the grant table. */
static uint32_t check_granted(const struct ra_adapter *a, const struct ra_tenant *t, const uint8_t *d)
{
    uint8_t opcode = d[RA_DESC_OPCODE];
    uint32_t words[2] = {le32(d + RA_DESC_SRC_LOC), le32(d + RA_DESC_DST_LOC)};
    bool used[2] = {opcode != RA_OP_FILL, true};
    for (int i = 0; i < 2; i++) {
        if (!used[i])
            continue;
        uint32_t kind = words[i] >> RA_LOC_KIND_SHIFT;
        if (kind == RA_LOC_HOST)
            return RA_ERR_HOSTMEM; /* host regions belong to the agent's connection, never to a tenant */
        if (kind != RA_LOC_ADAPTER)
            return RA_ERR_BAD_ARGUMENT;
        if (!granted(t, (words[i] >> RA_LOC_PORT_SHIFT) & RA_LOC_PORT_MASK, words[i] & RA_LOC_SLICE_MASK))
            return RA_ERR_OWNER_KEY;
    }
    if (opcode == RA_OP_JOB && !granted(t, a->port, le16(d + RA_DESC_CTX_SLICE)))
        return RA_ERR_OWNER_KEY;
    return RA_ERR_OK;
}

/* §18.5 adaptive polling, as io_uring's SQPOLL thread does it: after work the loop spins on the
 * window's SQ_TAIL for its POLL_US (bounded by the model, so a tenant cannot keep a core busy for
 * long) and shows TW_AWAKE = 1; a holder that reads AWAKE = 1 after storing SQ_TAIL
 * may skip the doorbell. */
static void poll_after_work(struct ra_tenant *t, uint64_t *now_ns)
{
    uint32_t poll_us = tw32(t, RA_TW_POLL_US);
    if (poll_us == 0)
        return; /* an awake window stops at the next ra_tenants_poll_expire */
    if (*now_ns == 0)
        *now_ns = ra_now_ns(); /* once per pump, and only when a window worked */
    t->poll_until_ns = *now_ns + 1000ull * (poll_us > RA_TENANT_POLL_US_MAX ? RA_TENANT_POLL_US_MAX : poll_us);
    if (!t->awake) {
        t->awake = true;
        tw_set32(t, RA_TW_AWAKE, 1);
    }
}

/* TW_SQ_HEAD: what take() consumed, stored once per pass of the loop (ra_tenants_show_heads) or with
 * the next completion, not at once: the holder spins on the adapter's line (TW_CQ_TAIL), and every
 * store into it takes the line from the holder's core. A round trip then stores into it once. */
static void show_sq_head(struct ra_tenant *t)
{
    if (t->sq_head_shown != t->sq_head) {
        t->sq_head_shown = t->sq_head;
        tw_set32(t, RA_TW_SQ_HEAD, t->sq_head);
    }
}

static void post_cqe(struct ra_adapter *a, struct ra_tenant *t, const struct ra_tenant_chain *c, uint32_t status,
                     uint32_t out_bytes)
{
    uint8_t cqe[RA_CQE_BYTES] = {0};
    memcpy(cqe + RA_CQE_COOKIE, &c->cookie, 4);
    memcpy(cqe + RA_CQE_STATUS, &status, 4);
    memcpy(cqe + RA_CQE_SQ_INDEX, &c->tenant_last, 4);
    memcpy(cqe + RA_CQE_OUT_BYTES, &out_bytes, 4);
    memcpy(t->map + RA_TW_CQ + (t->cq_tail & (depth(a) - 1)) * RA_CQE_BYTES, cqe, sizeof cqe);
    t->cq_tail++;
    show_sq_head(t); /* before CQ_TAIL: a holder that sees the completion sees its chain taken */
    tw_set32(t, RA_TW_CQ_TAIL, t->cq_tail); /* release: the CQE before the index (§2.2 rule 5) */
    RA_TRACE(RA_TRACE_POSTED);
}

/* Completions, in submission order, while the window's CQ has room. */
static bool deliver(struct ra_adapter *a, struct ra_tenant *t, uint64_t *now_ns)
{
    bool worked = false;
    unsigned q = t->queue;
    while (t->chains > 0) {
        if (t->cq_tail - tw32(t, RA_TW_CQ_HEAD) >= depth(a))
            break; /* full, or a CQ_HEAD the tenant scribbled: nothing is posted until it is sane */
        struct ra_tenant_chain *c = &t->chain[t->chain_head];
        uint32_t hw_head = reg32(a, qcb(q, RA_QCB_CQ_HEAD));
        if (c->forwarded && reg32_acquire(a, qcb(q, RA_QCB_CQ_TAIL)) == hw_head)
            break;
        /* AWAKE = 1 before the first completion is posted (as §7 for a queue): a holder that submits
         * again as soon as it sees it then skips the doorbell, a system call */
        if (!worked)
            poll_after_work(t, now_ns);
        if (c->forwarded) {
            const uint8_t *e = a->bar + RA_BAR_RINGS + q * RA_RING_STRIDE + RA_RING_CQ_OFFSET +
                               (hw_head & (depth(a) - 1)) * RA_CQE_BYTES;
            post_cqe(a, t, c, le32(e + RA_CQE_STATUS), le32(e + RA_CQE_OUT_BYTES));
            set32_release(a, qcb(q, RA_QCB_CQ_HEAD), hw_head + 1);
        } else {
            post_cqe(a, t, c, c->status, 0);
        }
        t->chain_head = (t->chain_head + 1) % RA_RING_MAX_DEPTH;
        t->chains--;
        worked = true;
    }
    /* §18.5: one interrupt per batch of completions, when the holder enabled it (after the CQ_TAIL
     * store above: a holder woken by it sees the completions). A full FIFO already holds a wake-up. */
    if (worked && t->irq_fd >= 0 && tw32(t, RA_TW_IRQ_ENABLE) != 0) {
        static const uint8_t one = 1;
        if (write(t->irq_fd, &one, 1) < 0 && errno != EAGAIN)
            fprintf(stderr, RA_MODEL_NAME ": interrupt of %s: %s\n", t->path, strerror(errno));
    }
    return worked;
}

static void push_chain(struct ra_tenant *t, uint32_t last, uint32_t cookie, bool forwarded, uint32_t status)
{
    t->chain[(t->chain_head + t->chains) % RA_RING_MAX_DEPTH] =
        (struct ra_tenant_chain){.tenant_last = last, .cookie = cookie, .forwarded = forwarded, .status = status};
    t->chains++;
}

/* Take complete chains off the window's SQ while the queue and the completion bookkeeping have room. */
static bool take(struct ra_adapter *a, struct ra_tenant *t)
{
    static uint8_t descs[RA_RING_MAX_DEPTH][RA_DESC_BYTES]; /* one thread (loop.c): private copies */
    uint32_t n_max = depth(a), mask = depth(a) - 1;
    unsigned q = t->queue;
    bool worked = false;
    while (t->chains < n_max) {
        uint32_t tail = tw32(t, RA_TW_SQ_TAIL);
        if (tail == t->sq_head || tail - t->sq_head > n_max)
            break; /* nothing, or indices the tenant broke: wait until it rewrites SQ_TAIL (§8.1) */
        uint32_t n = 0;
        bool ended = false;
        while (t->sq_head + n != tail && !ended) {
            memcpy(descs[n], t->map + RA_TW_SQ + ((t->sq_head + n) & mask) * RA_DESC_BYTES, RA_DESC_BYTES);
            ended = (descs[n][RA_DESC_FLAGS] & RA_DESC_F_CHAIN) == 0;
            n++;
        }
        if (!ended && n < n_max)
            break; /* §8.5: a chain starts once its last descriptor is submitted */
        uint32_t status = ended ? RA_ERR_OK : RA_ERR_BAD_ARGUMENT;
        for (uint32_t k = 0; k < n && status == RA_ERR_OK; k++)
            status = check_granted(a, t, descs[k]);
        uint32_t last = t->sq_head + n - 1, cookie = le32(descs[n - 1] + RA_DESC_COOKIE);
        if (status == RA_ERR_OK) {
            if (n_max - (t->hw_sq - reg32_acquire(a, qcb(q, RA_QCB_SQ_HEAD))) < n)
                break; /* the queue's ring is full: take it next turn */
            for (uint32_t k = 0; k < n; k++) {
                /* no key in the register file's ring either: dma.c puts the queue's in (tenant_key) */
                memset(descs[k] + RA_DESC_OWNER_KEY, 0, 8);
                bar_write(a, RA_BAR_RINGS + q * RA_RING_STRIDE + ((t->hw_sq + k) & mask) * RA_DESC_BYTES, descs[k],
                          RA_DESC_BYTES);
            }
            t->hw_sq += n;
            set32_release(a, qcb(q, RA_QCB_SQ_TAIL), t->hw_sq);
        }
        push_chain(t, last, cookie, status == RA_ERR_OK, status);
        RA_TRACE(RA_TRACE_TAKEN);
        t->sq_head += n; /* shown later: show_sq_head */
        worked = true;
    }
    return worked;
}

/* One turn of every open window (loop.c): completions back, new chains in. *now_ns: a clock reading
 * the caller just took, or 0: then it is read once, when a window worked (poll_after_work), after its
 * chains were forwarded, and the caller gets that reading back. */
bool ra_tenants_pump(struct ra_adapter *a, uint64_t *now_ns)
{
    bool worked = false;
    FOR_LIVE(a, w) {
        struct ra_tenant *t = &a->tenants[w];
        /* the fields the adapter owns are shared memory too: a tenant that overwrote them gets them back */
        if (tw32(t, RA_TW_SQ_HEAD) != t->sq_head_shown)
            tw_set32(t, RA_TW_SQ_HEAD, t->sq_head_shown);
        if (tw32(t, RA_TW_CQ_TAIL) != t->cq_tail)
            tw_set32(t, RA_TW_CQ_TAIL, t->cq_tail);
        if (tw32(t, RA_TW_AWAKE) != (uint32_t)t->awake)
            tw_set32(t, RA_TW_AWAKE, t->awake);
        bool window_worked = deliver(a, t, now_ns);
        window_worked |= take(a, t);
        window_worked |= deliver(a, t, now_ns);
        if (window_worked)
            poll_after_work(t, now_ns);
        worked |= window_worked;
    }
    return worked;
}

/* A turn of queue q posted completions (dma.c): when q is a window's, they go back to it now, not
 * after the other queues' turns and the pass's last pump (which still looks): on a polled round trip
 * that wait was a quarter of the model's share. `now_ns`: the turn's last clock reading. */
void ra_tenants_queue_done(struct ra_adapter *a, unsigned q, uint64_t now_ns)
{
    FOR_LIVE(a, w) {
        struct ra_tenant *t = &a->tenants[w];
        if (t->queue == q) {
            deliver(a, t, &now_ns);
            return;
        }
    }
}

/* End of a pass of the loop: every window shows what was taken from it (show_sq_head). */
void ra_tenants_show_heads(struct ra_adapter *a)
{
    FOR_LIVE(a, w)
        show_sq_head(&a->tenants[w]);
}

/* When the first awake window of the adapter stops spinning; UINT64_MAX when none is awake. */
uint64_t ra_tenants_poll_until(const struct ra_adapter *a)
{
    uint64_t until = UINT64_MAX;
    FOR_LIVE(a, w) {
        const struct ra_tenant *t = &a->tenants[w];
        if (t->awake && t->poll_until_ns < until)
            until = t->poll_until_ns;
    }
    return until;
}

/* Windows whose POLL_US passed without work go to sleep: AWAKE = 0, then a full fence, so that a
 * holder's SQ_TAIL stored before it read AWAKE = 1 (and skipped the doorbell) is seen by the loop's
 * next look (ra_tenants_pending) before it sleeps, as §7 asks of a queue. */
void ra_tenants_poll_expire(struct ra_adapter *a, uint64_t now_ns)
{
    bool slept = false;
    FOR_LIVE(a, w) {
        struct ra_tenant *t = &a->tenants[w];
        if (!t->awake)
            continue;
        if (now_ns < t->poll_until_ns && tw32(t, RA_TW_POLL_US) != 0)
            continue;
        t->awake = false;
        tw_set32(t, RA_TW_AWAKE, 0);
        slept = true;
    }
    if (slept)
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Is there anything a pump would do now? (loop.c: do not sleep, stop spinning) */
bool ra_tenants_pending(const struct ra_adapter *a)
{
    FOR_LIVE(a, w) {
        const struct ra_tenant *t = &a->tenants[w];
        uint32_t tail = tw32(t, RA_TW_SQ_TAIL);
        if (tail != t->sq_head && tail - t->sq_head <= depth(a) && t->chains < depth(a))
            return true;
        if (t->chains > 0 && (!t->chain[t->chain_head].forwarded ||
                              reg32(a, qcb(t->queue, RA_QCB_CQ_TAIL)) != reg32(a, qcb(t->queue, RA_QCB_CQ_HEAD))))
            return t->cq_tail - tw32(t, RA_TW_CQ_HEAD) < depth(a);
    }
    return false;
}
