/*
 * fabric.c - one fabric across model processes (ra-spec §8.9).
 *
 * Without --fabric, fabric ports are this model's adapters (port = index). With --fabric DIR, every
 * adapter claims a port in DIR, shared by the models of all "servers", and publishes it in
 * DIR/port-<P>.manifest: the model's pid and the paths of the adapter's register file, memory file
 * and gate file. A descriptor naming a port of another model maps that adapter's files (once, on
 * first use; a missing port is looked up again every time, so models that join later are found)
 * and the DMA engine then reads and writes the other adapter's memory directly: no agent or GRM
 * copies the bytes. The other adapter's slice table is read from its register file, so the checks
 * of §8.7 are exactly those of a local port.
 *
 * The gate file (DIR-of-the-owner/ra<i>.gate) is what makes "waits for descriptors in progress"
 * (§5.4) hold across processes, with a Dekker-style handshake on shared memory:
 *   executor (other model): store its pin (slice bit in its row), full fence, then read the
 *                           owner's blocked flags and slice registers (§8.7 checks 5, 6, 10);
 *   owner (this model):     store blocked flags, full fence, then read every row's pins;
 * so either the executor sees the slice blocked and refuses the descriptor, or the owner sees the
 * pin and its RELEASE / DRAIN / RESIZE / RESET waits until the executor unpins at completion.
 * Owner keys are write-only (§10): the gate carries the SHA-256 digest of each slice's key, and an
 * executor compares the digest of a descriptor's key with it (§8.7 check 6 across models).
 * Rows of executors whose process is gone are ignored, so a dead model never wedges a command.
 *
 * A port is gone when its manifest is gone (clean stop), its pid no longer runs (kill -9, FAULT_EXIT)
 * or its adapter is HALTED: descriptors naming it fail with ERR_FABRIC, and one in progress stops at
 * its next chunk with ERR_FABRIC. Mappings are never unmapped while the model runs (a descriptor
 * in progress may point into them); the files of a model that died stay valid files, and a model
 * that starts again creates new files (adapter.c) instead of truncating the old ones, so touching
 * an old mapping never raises SIGBUS.
 *
 * A granted memory slice (§18.7) lives in its grant file, not in the memory file: the owner keeps an
 * overlay record per slice in its gate, and an executor maps the grant file over that range of its
 * view of the memory (ra_fabric_compose) when it validates a descriptor naming the slice, after the
 * pin; the owner changes a record only while the slice is blocked and unpinned, so a chain in
 * progress never meets a grant file that is being revoked (truncated).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bar.h"
#include "model.h"

#define GATE_MAGIC   0x47464152u /* 'RAFG' */
#define GATE_VERSION 3u
#define MANIFEST_TAG "ra-fabric-port 1"

struct ra_fabric_pin {                     /* one executing queue's hold on slices of the gate's adapter */
    uint32_t pid;                          /* executing model; written before the slice bits */
    uint32_t reserved;
    uint64_t slices[RA_SLICE_MAX / 64];    /* bit i: slice i is named by the chain in progress */
    uint8_t pad[24];
};

struct ra_fabric_overlay {                 /* §18.7, written by the owner while the slice is blocked and quiet */
    uint64_t generation;                   /* written last (release); changes at every begin and end */
    uint64_t base, length;
    uint32_t active;
    uint32_t reserved;
    char name[RA_OVERLAY_NAME_BYTES];      /* the grant file, in the folder of the owner's memory file */
};

struct ra_fabric_gate {
    uint32_t magic;
    uint32_t version;
    uint32_t port;
    uint32_t resetting;                    /* CMD_RESET waits: every slice is blocked */
    uint8_t blocked[RA_SLICE_MAX];         /* 1: a command waits for the slice, new descriptors refused */
    uint8_t pad[4096 - 16 - RA_SLICE_MAX];
    struct ra_fabric_pin pins[RA_LOC_FABRIC_PORTS][RA_QUEUE_MAX]; /* [executing port][queue] */
    uint8_t key_digest[RA_SLICE_MAX][32];  /* SHA-256 of each slice's owner key: the BAR shows none (§10) */
    struct ra_fabric_overlay overlays[RA_SLICE_MAX]; /* §18.7: slices whose bytes are in a grant file */
};

struct ra_composed {                       /* a range of a peer's memory we mapped a grant file over */
    bool used;
    uint32_t slice;
    uint64_t generation, base, length;
};

struct ra_fabric_peer {                    /* another model's adapter, as this model sees it */
    struct ra_fabric_peer *next_retired;
    struct ra_adapter view;                /* bar, mem, gate mapped from its files; remote = true */
    int mem_fd;                            /* its memory file: mapped back over ranges no longer granted */
    char dir[4096];                        /* the folder of its memory file, where its grant files are */
    struct ra_composed composed[RA_SLICE_MAX];
    pid_t pid;
    dev_t manifest_dev;
    ino_t manifest_ino;
};

static bool pid_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static void manifest_path(const struct ra_model *m, uint32_t port, char *out, size_t size)
{
    snprintf(out, size, "%s/port-%u.manifest", m->cfg.fabric_dir, port);
}

/* ---- manifests ------------------------------------------------------------------------------ */
struct manifest {
    uint32_t port;
    pid_t pid;
    uint64_t mem_bytes;
    char bar[4096], mem[4096], gate[4096];
};

/* Parses "key value" lines; false if the file is missing, partial or of another version. */
static bool manifest_read(const char *path, struct manifest *out)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    char line[4200];
    unsigned seen = 0;
    bool tagged = false;
    memset(out, 0, sizeof *out);
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *space = strchr(line, ' ');
        if (strcmp(line, MANIFEST_TAG) == 0) {
            tagged = true;
            continue;
        }
        if (space == NULL)
            continue;
        *space = '\0';
        const char *key = line, *value = space + 1;
        if (strcmp(key, "port") == 0) {
            out->port = (uint32_t)strtoul(value, NULL, 10);
            seen |= 1;
        } else if (strcmp(key, "pid") == 0) {
            out->pid = (pid_t)strtol(value, NULL, 10);
            seen |= 2;
        } else if (strcmp(key, "mem_bytes") == 0) {
            out->mem_bytes = strtoull(value, NULL, 10);
            seen |= 4;
        } else if (strcmp(key, "bar") == 0 && strlen(value) < sizeof out->bar) {
            strcpy(out->bar, value);
            seen |= 8;
        } else if (strcmp(key, "mem") == 0 && strlen(value) < sizeof out->mem) {
            strcpy(out->mem, value);
            seen |= 16;
        } else if (strcmp(key, "gate") == 0 && strlen(value) < sizeof out->gate) {
            strcpy(out->gate, value);
            seen |= 32;
        }
    }
    fclose(f);
    return tagged && seen == 63;
}

/* Written to a temporary name, then renamed: a reader sees the whole manifest or none. */
static int manifest_write(const struct ra_adapter *a, uint32_t port, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/.port-%u.%d.tmp", a->model->cfg.fabric_dir, port, (int)getpid());
    FILE *f = fopen(tmp, "we");
    if (f == NULL) {
        fprintf(stderr, RA_MODEL_NAME ": cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    char bar[4096], mem[4096], gate[4096];
    if (realpath(a->bar_path, bar) == NULL || realpath(a->mem_path, mem) == NULL ||
        realpath(a->gate_path, gate) == NULL) {
        fprintf(stderr, RA_MODEL_NAME ": cannot resolve the files of adapter %u: %s\n", a->index, strerror(errno));
        fclose(f);
        unlink(tmp);
        return -1;
    }
    fprintf(f, MANIFEST_TAG "\nport %u\npid %d\nmem_bytes %llu\nbar %s\nmem %s\ngate %s\n", port, (int)getpid(),
            (unsigned long long)a->model->cfg.memory_bytes, bar, mem, gate);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, RA_MODEL_NAME ": cannot publish %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Is the port held by a running model (other than us)? A manifest whose pid is gone is stale. */
static bool port_held(const struct ra_model *m, uint32_t port, pid_t *holder)
{
    char path[4200];
    manifest_path(m, port, path, sizeof path);
    struct manifest mf;
    if (!manifest_read(path, &mf))
        return access(path, F_OK) == 0 && (*holder = 0, true); /* unreadable: leave it alone */
    *holder = mf.pid;
    return mf.pid != getpid() && pid_alive(mf.pid);
}

static bool port_taken_here(const struct ra_model *m, uint32_t port, const struct ra_adapter *self)
{
    for (unsigned i = 0; i < m->adapters_open; i++)
        if (&m->adapters[i] != self && m->adapters[i].manifest_created && m->adapters[i].port == port)
            return true;
    return false;
}

/* ---- joining ---------------------------------------------------------------------------------- */
static int create_gate(struct ra_adapter *a)
{
    snprintf(a->gate_path, sizeof a->gate_path, "%s/ra%u.gate", a->model->cfg.dir, a->index);
    unlink(a->gate_path); /* a new inode: a model still holding the old one keeps a valid mapping */
    int fd = open(a->gate_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, sizeof(struct ra_fabric_gate)) != 0) {
        fprintf(stderr, RA_MODEL_NAME ": cannot create %s: %s\n", a->gate_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    a->gate_created = true;
    void *p = mmap(NULL, sizeof(struct ra_fabric_gate), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    struct stat st;
    if (fstat(fd, &st) == 0) {
        a->gate_dev = st.st_dev;
        a->gate_ino = st.st_ino;
    }
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, RA_MODEL_NAME ": cannot map %s: %s\n", a->gate_path, strerror(errno));
        return -1;
    }
    a->gate = p;
    a->gate->magic = GATE_MAGIC;
    a->gate->version = GATE_VERSION;
    return 0;
}

/* Claims a fabric port for `a` (under an flock of DIR/fabric.lock, so two starting models never
 * claim one port) and publishes its manifest. Sets a->port. */
int ra_fabric_join(struct ra_adapter *a)
{
    struct ra_model *m = a->model;
    if (m->cfg.fabric_dir == NULL) {
        a->port = a->index;
        return 0;
    }
    if (create_gate(a) != 0)
        return -1;
    char lock_path[4200];
    snprintf(lock_path, sizeof lock_path, "%s/fabric.lock", m->cfg.fabric_dir);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        fprintf(stderr, RA_MODEL_NAME ": cannot lock %s: %s\n", lock_path, strerror(errno));
        if (lock >= 0)
            close(lock);
        return -1;
    }
    int rc = -1;
    pid_t holder = 0;
    if (m->cfg.fabric_base >= 0) {
        uint32_t port = (uint32_t)m->cfg.fabric_base + a->index;
        if (port_held(m, port, &holder))
            fprintf(stderr,
                    RA_MODEL_NAME ": fabric port %u is held by ra-model pid %d (%s/port-%u.manifest); "
                    "choose another --fabric-base or stop that model\n",
                    port, (int)holder, m->cfg.fabric_dir, port);
        else
            a->port = port, rc = 0;
    } else {
        for (uint32_t port = 0; port < RA_LOC_FABRIC_PORTS && rc != 0; port++)
            if (!port_taken_here(m, port, a) && !port_held(m, port, &holder))
                a->port = port, rc = 0;
        if (rc != 0)
            fprintf(stderr, RA_MODEL_NAME ": all %d fabric ports of %s are held by running models\n",
                    RA_LOC_FABRIC_PORTS, m->cfg.fabric_dir);
    }
    if (rc == 0) {
        a->gate->port = a->port;
        manifest_path(m, a->port, a->manifest_path, sizeof a->manifest_path);
        rc = manifest_write(a, a->port, a->manifest_path);
        a->manifest_created = rc == 0;
    }
    flock(lock, LOCK_UN);
    close(lock);
    return rc;
}

/* The port disappears first (manifest), so that no other model maps files that are going away. */
void ra_fabric_leave(struct ra_adapter *a)
{
    if (a->manifest_created) {
        struct manifest mf;
        if (manifest_read(a->manifest_path, &mf) && mf.pid == getpid())
            unlink(a->manifest_path);
        a->manifest_created = false;
    }
}

void ra_fabric_close_gate(struct ra_adapter *a, bool remove_file)
{
    if (a->gate != NULL)
        munmap(a->gate, sizeof *a->gate);
    a->gate = NULL;
    if (remove_file && a->gate_created)
        unlink(a->gate_path);
}

static void unmap_peer(struct ra_fabric_peer *p)
{
    if (p->view.bar != NULL)
        munmap(p->view.bar, RA_BAR_BYTES);
    if (p->view.mem != NULL)
        munmap(p->view.mem, p->view.mem_bytes);
    if (p->view.gate != NULL)
        munmap(p->view.gate, sizeof(struct ra_fabric_gate));
    if (p->mem_fd >= 0)
        close(p->mem_fd);
    free(p);
}

void ra_fabric_shutdown(struct ra_model *m)
{
    for (uint32_t port = 0; port < RA_LOC_FABRIC_PORTS; port++) {
        if (m->peers[port] != NULL)
            unmap_peer(m->peers[port]);
        m->peers[port] = NULL;
    }
    while (m->retired != NULL) {
        struct ra_fabric_peer *p = m->retired;
        m->retired = p->next_retired;
        unmap_peer(p);
    }
}

/* ---- mapping other models' ports ------------------------------------------------------------- */
static void *map_file(const char *path, uint64_t bytes)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= bytes)
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

static struct ra_fabric_peer *map_peer(struct ra_model *m, uint32_t port, const struct stat *manifest_st)
{
    char path[4200];
    manifest_path(m, port, path, sizeof path);
    struct manifest mf;
    if (!manifest_read(path, &mf) || mf.port != port || mf.pid == getpid() || !pid_alive(mf.pid) ||
        mf.mem_bytes == 0)
        return NULL;
    struct ra_fabric_peer *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->pid = mf.pid;
    p->mem_fd = open(mf.mem, O_RDWR | O_CLOEXEC);
    snprintf(p->dir, sizeof p->dir, "%s", mf.mem);
    char *slash = strrchr(p->dir, '/');
    if (slash != NULL)
        *slash = '\0';
    p->manifest_dev = manifest_st->st_dev;
    p->manifest_ino = manifest_st->st_ino;
    p->view.model = m;
    p->view.remote = true;
    p->view.index = port;
    p->view.port = port;
    p->view.mem_bytes = mf.mem_bytes;
    p->view.bar = map_file(mf.bar, RA_BAR_BYTES);
    p->view.mem = map_file(mf.mem, mf.mem_bytes);
    p->view.gate = map_file(mf.gate, sizeof(struct ra_fabric_gate));
    if (p->mem_fd < 0 || p->view.bar == NULL || p->view.mem == NULL || p->view.gate == NULL || p->view.gate->magic != GATE_MAGIC ||
        p->view.gate->version != GATE_VERSION || p->view.gate->port != port) {
        unmap_peer(p);
        return NULL;
    }
    /* rows of our ports may hold pins of an earlier process that had them: ours now, start empty */
    for (unsigned i = 0; i < m->adapters_open; i++)
        for (unsigned q = 0; q < RA_QUEUE_MAX; q++)
            memset(&p->view.gate->pins[m->adapters[i].port][q], 0, sizeof(struct ra_fabric_pin));
    return p;
}

static void retire(struct ra_model *m, uint32_t port)
{
    struct ra_fabric_peer *p = m->peers[port];
    if (p == NULL)
        return;
    m->peers[port] = NULL;
    p->next_retired = m->retired;
    m->retired = p;
}

/* §8.7 check 4 for a port of another model: its manifest present and unchanged (else it is looked
 * up again: a model that joined, or restarted, since the last look), its process running, its
 * adapter initialised and not HALTED. NULL = ERR_FABRIC. */
struct ra_adapter *ra_fabric_port(struct ra_model *m, uint32_t port)
{
    if (m->cfg.fabric_dir == NULL || port >= RA_LOC_FABRIC_PORTS)
        return NULL;
    char path[4200];
    manifest_path(m, port, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0) {
        retire(m, port); /* a deleted manifest: the port is gone */
        return NULL;
    }
    struct ra_fabric_peer *p = m->peers[port];
    if (p != NULL && (p->manifest_dev != st.st_dev || p->manifest_ino != st.st_ino)) {
        retire(m, port);
        p = NULL;
    }
    if (p == NULL) {
        p = map_peer(m, port, &st);
        if (p == NULL)
            return NULL;
        m->peers[port] = p;
    }
    return ra_fabric_alive(&p->view) ? &p->view : NULL;
}

static const struct ra_fabric_peer *peer_of(const struct ra_adapter *remote)
{
    return (const struct ra_fabric_peer *)((const char *)remote - offsetof(struct ra_fabric_peer, view));
}

bool ra_fabric_alive(const struct ra_adapter *remote)
{
    return pid_alive(peer_of(remote)->pid) && reg32_acquire(remote, RA_REG_MAGIC) == RA_ID_MAGIC &&
           (reg32(remote, RA_REG_STATUS) & (RA_STATUS_HALTED | RA_STATUS_FATAL)) == 0;
}

bool ra_fabric_slice_blocked(const struct ra_adapter *remote, uint32_t slice)
{
    const struct ra_fabric_gate *g = remote->gate;
    return __atomic_load_n(&g->resetting, __ATOMIC_ACQUIRE) != 0 ||
           __atomic_load_n(&g->blocked[slice], __ATOMIC_ACQUIRE) != 0;
}

/* §8.7 check 6 for another model's slice: SHA-256 of the descriptor's key against its owner's digest.
 * A digest is published before the slice can become ACTIVE (RESERVE, then a later ACTIVATE). */
bool ra_fabric_key_matches(const struct ra_adapter *remote, uint32_t slice, uint64_t key)
{
    uint8_t want[32];
    ra_slice_key_digest(key, want);
    uint8_t diff = 0;
    const volatile uint8_t *have = remote->gate->key_digest[slice];
    for (unsigned b = 0; b < 32; b++)
        diff |= (uint8_t)(have[b] ^ want[b]);
    return diff == 0;
}

/* ---- the executor's side of the handshake ----------------------------------------------------- */
void ra_fabric_pin(struct ra_adapter *a, unsigned q, struct ra_adapter *remote, uint32_t slice)
{
    struct ra_fabric_pin *pin = &remote->gate->pins[a->port][q];
    __atomic_store_n(&pin->pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
    __atomic_or_fetch(&pin->slices[slice / 64], 1ull << (slice % 64), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the pin is visible before the owner's flags are read */
    a->queues[q].pinned_ports[remote->port / 64] |= 1ull << (remote->port % 64);
}

static void clear_pin(struct ra_fabric_pin *pin)
{
    for (unsigned w = 0; w < RA_SLICE_MAX / 64; w++)
        __atomic_store_n(&pin->slices[w], 0, __ATOMIC_RELEASE);
}

/* The chain on queue q is complete (after its counters were charged): release every pin it holds. */
void ra_fabric_unpin(struct ra_adapter *a, unsigned q)
{
    struct ra_model *m = a->model;
    uint64_t *ports = a->queues[q].pinned_ports;
    /* word by word, set bits only: this runs twice per descriptor, mostly with no bit set, and a
     * bit-by-bit walk of the 256 ports was an eighth of the model's time on a polled round trip (perf) */
    for (uint32_t word = 0; word < RA_LOC_FABRIC_PORTS / 64; word++) {
        for (uint64_t bits = ports[word]; bits != 0; bits &= bits - 1) {
            uint32_t port = word * 64 + (uint32_t)__builtin_ctzll(bits);
            /* the mapping pinned may have been retired since: release it there too */
            if (m->peers[port] != NULL)
                clear_pin(&m->peers[port]->view.gate->pins[a->port][q]);
            for (struct ra_fabric_peer *p = m->retired; p != NULL; p = p->next_retired)
                if (p->view.port == port)
                    clear_pin(&p->view.gate->pins[a->port][q]);
        }
    }
    memset(ports, 0, sizeof a->queues[q].pinned_ports);
}

/* ---- the owner's side ------------------------------------------------------------------------- */
void ra_fabric_publish_gate(struct ra_adapter *a)
{
    struct ra_fabric_gate *g = a->gate;
    if (g == NULL)
        return;
    /* an executor that reads a slice unblocked also reads the overlay record written before (§18.7) */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (uint32_t i = 0; i < RA_SLICE_MAX; i++) {
        __atomic_store_n(&g->blocked[i], (uint8_t)a->slices[i].blocked, __ATOMIC_RELAXED);
        memcpy(g->key_digest[i], a->slices[i].key_digest, sizeof g->key_digest[i]);
    }
    __atomic_store_n(&g->resetting, (uint32_t)a->resetting, __ATOMIC_RELAXED);
}

/* May the command in progress apply, as far as other models are concerned? False while a running
 * executor pins a slice the command blocked (any slice, for RESET). */
bool ra_fabric_quiet(struct ra_adapter *a)
{
    struct ra_fabric_gate *g = a->gate;
    if (g == NULL)
        return true;
    ra_fabric_publish_gate(a);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* blocked flags are visible before the pins are read */
    uint64_t blocked[RA_SLICE_MAX / 64] = {0};
    bool any = a->resetting;
    for (uint32_t i = 0; i < RA_SLICE_MAX; i++)
        if (a->slices[i].blocked) {
            blocked[i / 64] |= 1ull << (i % 64);
            any = true;
        }
    if (!any)
        return true;
    for (uint32_t port = 0; port < RA_LOC_FABRIC_PORTS; port++) {
        for (unsigned q = 0; q < RA_QUEUE_MAX; q++) {
            const struct ra_fabric_pin *pin = &g->pins[port][q];
            bool hit = false;
            for (unsigned w = 0; w < RA_SLICE_MAX / 64; w++) {
                uint64_t bits = __atomic_load_n(&pin->slices[w], __ATOMIC_ACQUIRE);
                hit = hit || (a->resetting ? bits != 0 : (bits & blocked[w]) != 0);
            }
            if (hit && pid_alive((pid_t)__atomic_load_n(&pin->pid, __ATOMIC_RELAXED)))
                return false;
        }
    }
    return true;
}

/* §18.7: the overlay record of slice i as this model holds it; generation last, so that an executor
 * that reads the new generation reads the rest with it. */
void ra_fabric_publish_overlay(struct ra_adapter *a, uint32_t slice)
{
    struct ra_fabric_gate *g = a->gate;
    if (g == NULL)
        return;
    const struct ra_overlay *o = &a->overlays[slice];
    struct ra_fabric_overlay *r = &g->overlays[slice];
    r->base = o->base;
    r->length = o->length;
    r->active = o->active;
    memcpy(r->name, o->name, sizeof r->name);
    __atomic_store_n(&r->generation, o->generation, __ATOMIC_RELEASE);
}

/* ---- the executor's view of another model's granted slices (§18.7) ------------------------------ */
static bool map_into_view(struct ra_fabric_peer *p, uint64_t base, uint64_t length, int fd, uint64_t off)
{
    void *r = mmap(p->view.mem + base, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd,
                   (off_t)off);
    return r != MAP_FAILED;
}

/* Makes [base, base + length) of our view of `remote`'s memory what its owner's view is: its grant
 * file when the slice is granted, its memory file otherwise. Called after the slice was pinned and
 * found usable (§8.7 checks 4-6), so the owner cannot change the record until the chain completes.
 * Ranges we composed for slices that are gone since are put back first. False = ERR_FABRIC. */
bool ra_fabric_compose(struct ra_adapter *remote, uint32_t slice, uint64_t base, uint64_t length)
{
    struct ra_fabric_peer *p = (struct ra_fabric_peer *)((char *)remote - offsetof(struct ra_fabric_peer, view));
    const struct ra_fabric_overlay *r = &remote->gate->overlays[slice];
    uint64_t generation = __atomic_load_n(&r->generation, __ATOMIC_ACQUIRE);
    bool active = __atomic_load_n(&r->active, __ATOMIC_RELAXED) != 0;
    bool have = false;
    for (uint32_t i = 0; i < RA_SLICE_MAX; i++) {
        struct ra_composed *c = &p->composed[i];
        if (!c->used)
            continue;
        /* a record that changed since: its owner ended that grant, and no chain of ours pins it */
        bool stale = __atomic_load_n(&remote->gate->overlays[c->slice].generation, __ATOMIC_ACQUIRE) != c->generation;
        bool overlaps = c->base < base + length && base < c->base + c->length;
        if (!stale && c->slice == slice) {
            have = true;
            continue;
        }
        if (!stale && !overlaps)
            continue;
        if (!map_into_view(p, c->base, c->length, p->mem_fd, c->base))
            return false;
        c->used = false;
    }
    if (!active || have)
        return true;
    char name[RA_OVERLAY_NAME_BYTES];
    memcpy(name, r->name, sizeof name);
    name[sizeof name - 1] = '\0';
    if (r->base != base || r->length != length || name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
        return false;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", p->dir, name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= length &&
              map_into_view(p, base, length, fd, 0);
    close(fd);
    if (!ok)
        return false;
    for (uint32_t i = 0; i < RA_SLICE_MAX; i++)
        if (!p->composed[i].used) {
            p->composed[i] = (struct ra_composed){.used = true, .slice = slice, .generation = generation,
                                                  .base = base, .length = length};
            return true;
        }
    map_into_view(p, base, length, p->mem_fd, base); /* no room to remember it (never: one per slice) */
    return false;
}

/* Host regions may never be the gate file of a local adapter (hostmem.c), as for BAR and memory. */
bool ra_fabric_is_model_file(const struct ra_model *m, dev_t dev, ino_t ino)
{
    for (unsigned i = 0; i < m->adapters_open; i++)
        if (m->adapters[i].gate_created && m->adapters[i].gate_dev == dev && m->adapters[i].gate_ino == ino)
            return true;
    return false;
}
