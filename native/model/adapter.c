/*
 * adapter.c - one RA: its files, identity and capability registers (§3), status and heartbeat (§4).
 *
 * DIR/ra<i>.bar is the register file (RA_BAR_BYTES, what an ivshmem BAR would show) and
 * DIR/ra<i>.mem the on-card memory: a sparse file of CAP_MEM_BYTES that the model never writes
 * until a descriptor does, so an 8 GiB adapter costs nothing until used. Both are MAP_SHARED: the
 * BAR fd goes to every client over the socket, the memory file stands for the CXL.mem region.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bar.h"
#include "model.h"

static int open_file(const char *path, uint64_t bytes, int *fd, uint8_t **map, dev_t *dev, ino_t *ino)
{
    /* A new file, never the old one truncated: a file left behind by a model that died (FAULT_EXIT)
     * must not leak its bytes, and another model that still maps it over the fabric (§8.9) must
     * keep a valid mapping (a truncated file would raise SIGBUS there). */
    unlink(path);
    *fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (*fd < 0) {
        fprintf(stderr, RA_MODEL_NAME ": cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (ftruncate(*fd, (off_t)bytes) != 0) {
        fprintf(stderr, RA_MODEL_NAME ": cannot size %s to %llu bytes: %s\n", path, (unsigned long long)bytes,
                strerror(errno));
        return -1;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, *fd, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, RA_MODEL_NAME ": cannot map %s: %s\n", path, strerror(errno));
        return -1;
    }
    *map = p;
    struct stat st;
    if (fstat(*fd, &st) == 0) {
        *dev = st.st_dev;
        *ino = st.st_ino;
    }
    return 0;
}

/* §3: everything but MAGIC; ra_adapter_publish() writes MAGIC last. */
static void init_registers(struct ra_adapter *a)
{
    const struct ra_config *cfg = &a->model->cfg;
    uint64_t serial = 0;
    if (getrandom(&serial, sizeof serial, 0) != (ssize_t)sizeof serial)
        serial = ra_now_ns() ^ ((uint64_t)getpid() << 32);
    /* random high bits, the fabric port in the low byte: unique across adapters and processes */
    serial = (serial & ~0xFFull) | (a->port & 0xFFu);

    set32(a, RA_REG_SPEC_VERSION, RA_MODEL_SPEC_VERSION);
    set32(a, RA_REG_DEVICE_ID, RA_MODEL_DEVICE_ID);
    set32(a, RA_REG_FABRIC_ID, a->port);
    set64(a, RA_REG_SERIAL, serial);
    set32(a, RA_REG_MODEL_PEER_ID, 0);
    /* §8.9: a shared fabric has RA_LOC_FABRIC_PORTS ports; alone, the ports are this model's adapters */
    set32(a, RA_REG_FABRIC_PORTS, cfg->fabric_dir != NULL ? RA_LOC_FABRIC_PORTS : cfg->adapters);
    set64(a, RA_REG_CAP_MEM_BYTES, cfg->memory_bytes);
    set32(a, RA_REG_CAP_SLOTS, cfg->slots);
    set32(a, RA_REG_CAP_SLOT_BYTES, cfg->slot_bytes);
    set32(a, RA_REG_CAP_COMPUTE_UNITS, cfg->compute_units);
    set32(a, RA_REG_CAP_CONTEXTS, cfg->contexts);
    set32(a, RA_REG_CAP_SLICES, cfg->slices);
    set32(a, RA_REG_CAP_QUEUES, cfg->queues);
    set32(a, RA_REG_CAP_RING_DEPTH, cfg->ring_depth);
    set32(a, RA_REG_CAP_HOSTMEM, RA_HOSTMEM_MAX);
    set32(a, RA_REG_CAP_STAGING_BYTES, RA_BAR_STAGING_BYTES);
    /* §3: the functions a slot can host; matmul runs on the compute units, not in a slot */
    set32(a, RA_REG_CAP_FUNCTIONS, (1u << RA_FN_AES_256_GCM) | (1u << RA_FN_SHA256) | (1u << RA_FN_CRC32C) |
                                        (1u << RA_FN_PIPELINE));
    set64(a, RA_REG_CAP_MEM_ALIGN, cfg->mem_align_bytes);
    set64(a, RA_REG_CAP_CONFIG_RATE, cfg->config_rate);
    set64(a, RA_REG_CAP_MAX_TRANSFER, a->model->cfg.max_transfer_bytes);
    set64(a, RA_REG_CLOCK_NS, ra_clock_ns(a->model));
    set32(a, RA_REG_STATUS, RA_STATUS_READY);
}

int ra_adapter_open(struct ra_model *m, unsigned index)
{
    struct ra_adapter *a = &m->adapters[index];
    memset(a, 0, sizeof *a);
    a->model = m;
    a->index = index;
    a->bar_fd = a->mem_fd = a->listen_fd = -1;
    for (unsigned v = 0; v < RA_MODEL_VECTORS_MAX; v++)
        a->doorbell_fd[v] = -1;
    a->next_peer_id = 1;
    snprintf(a->bar_path, sizeof a->bar_path, "%s/ra%u.bar", m->cfg.dir, index);
    snprintf(a->mem_path, sizeof a->mem_path, "%s/ra%u.mem", m->cfg.dir, index);
    snprintf(a->sock_path, sizeof a->sock_path, "%s/ra%u.sock", m->cfg.dir, index);

    if (ra_server_probe_live(a->sock_path)) {
        fprintf(stderr, RA_MODEL_NAME ": %s answers: another ra-model serves %s; stop it or use another --dir\n",
                a->sock_path, m->cfg.dir);
        return -1;
    }
    if (open_file(a->bar_path, RA_BAR_BYTES, &a->bar_fd, &a->bar, &a->bar_dev, &a->bar_ino) != 0)
        return -1;
    a->bar_created = true;
    if (open_file(a->mem_path, m->cfg.memory_bytes, &a->mem_fd, &a->mem, &a->mem_dev, &a->mem_ino) != 0)
        return -1;
    a->mem_created = true;
    a->mem_bytes = m->cfg.memory_bytes;
    if (ra_fabric_join(a) != 0) /* the port: FABRIC_ID is written below */
        return -1;

    /* §14: the model's vectors are its doorbells; one eventfd each, shared by every client */
    unsigned vectors = RA_VEC_QUEUE0 + m->cfg.queues;
    for (unsigned v = 0; v < vectors; v++) {
        a->doorbell_fd[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (a->doorbell_fd[v] < 0) {
            fprintf(stderr, RA_MODEL_NAME ": eventfd: %s\n", strerror(errno));
            return -1;
        }
        a->doorbell_watch[v] = (struct ra_watch){.kind = RA_W_DOORBELL, .adapter = a, .vector = v};
        if (ra_loop_watch(m, a->doorbell_fd[v], &a->doorbell_watch[v]) != 0)
            return -1;
    }
    init_registers(a);
    return 0;
}

/* §3: MAGIC reads 'RAFB' only once every other register is initialised (release order). */
void ra_adapter_publish(struct ra_adapter *a)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    set32_release(a, RA_REG_MAGIC, RA_ID_MAGIC);
}

void ra_adapter_heartbeat(struct ra_adapter *a, uint64_t clock_ns)
{
    if (a->halted)
        return; /* §6 HANG: the heartbeat stops, which is how a driver detects it */
    set64(a, RA_REG_CLOCK_NS, clock_ns);
    add64(a, RA_REG_HEARTBEAT, 1);
}

/* §6 FAULT_HANG: from now on the adapter answers nothing; only a new process "power cycles" it. */
void ra_adapter_halt(struct ra_adapter *a)
{
    a->halted = true;
    set32(a, RA_REG_STATUS, reg32(a, RA_REG_STATUS) | RA_STATUS_HALTED);
    /* its descriptors never move another byte: other models' commands must not wait for them (§8.9) */
    for (unsigned q = 0; q < RA_QUEUE_MAX; q++)
        ra_fabric_unpin(a, q);
}

/* §8.3 fabric: a port names an adapter of this process or, with --fabric, of another model
 * (§8.9); a halted adapter does not answer on it. */
struct ra_adapter *ra_adapter_by_port(struct ra_model *m, uint32_t port)
{
    for (unsigned i = 0; i < m->adapters_open; i++) {
        struct ra_adapter *t = &m->adapters[i];
        if (t->port == port && t->model != NULL)
            return t->halted ? NULL : t;
    }
    return ra_fabric_port(m, port);
}

void ra_adapter_close(struct ra_adapter *a, bool remove_files)
{
    struct ra_model *m = a->model;
    if (m == NULL)
        return;
    ra_fabric_leave(a); /* first: other models stop reaching this adapter */
    ra_server_close_all(a);
    ra_tenants_close_all(a, !remove_files); /* a memory file that stays keeps granted slices' bytes */
    for (unsigned q = 0; q < RA_QUEUE_MAX; q++)
        ra_dma_queue_drop(a, q);
    for (unsigned h = 0; h < RA_HOSTMEM_MAX; h++)
        ra_hostmem_unmap(a, h);
    for (unsigned v = 0; v < RA_MODEL_VECTORS_MAX; v++)
        if (a->doorbell_fd[v] >= 0)
            close(a->doorbell_fd[v]);
    explicit_bzero(a->slices, sizeof a->slices);
    if (a->mem != NULL)
        munmap(a->mem, m->cfg.memory_bytes);
    if (a->bar != NULL)
        munmap(a->bar, RA_BAR_BYTES);
    if (a->mem_fd >= 0)
        close(a->mem_fd);
    if (a->bar_fd >= 0)
        close(a->bar_fd);
    ra_fabric_close_gate(a, remove_files);
    if (remove_files) {
        if (a->bar_created)
            unlink(a->bar_path);
        if (a->mem_created)
            unlink(a->mem_path);
    }
    a->model = NULL;
}
