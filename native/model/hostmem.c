/*
 * hostmem.c - the host region table (ra-spec §11): client memory the DMA engine may reach.
 *
 * A client names a file in the model's directory (the embedded driver's stand-in for pinned host
 * pages); the model maps it MAP_SHARED and descriptors then name it by handle (RA_LOC_HOST). A
 * region belongs to the peer that registered it: only that peer's queues may use it, only it may
 * unregister it, and it goes away when that peer disconnects. Either way the region is unmapped
 * only once no descriptor in progress uses it (§5.4), and new descriptors are refused meanwhile.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bar.h"
#include "model.h"

/* The name: the first CMD_DATA_BYTES bytes of CMD_DATA, or up to a NUL. */
static size_t name_length(const struct ra_cmd *c)
{
    return strnlen((const char *)c->data, c->data_bytes);
}

/* [A-Za-z0-9._-], not starting with '.': no hidden files, nothing that walks the file system.
 * A bad name is ERR_HOSTMEM ("cannot be mapped"), like a missing file. */
static bool plain_name(const char *name, size_t len)
{
    if (len == 0 || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* The adapters' own register and memory files are never host memory: that would hand one
 * tenant every other tenant's slices. Compared by inode, so a link under another name fails too. */
static bool is_model_file(const struct ra_model *m, const struct stat *st)
{
    for (unsigned i = 0; i < m->adapters_open; i++) {
        const struct ra_adapter *t = &m->adapters[i];
        if ((st->st_dev == t->bar_dev && st->st_ino == t->bar_ino) ||
            (st->st_dev == t->mem_dev && st->st_ino == t->mem_ino))
            return true;
    }
    return ra_fabric_is_model_file(m, st->st_dev, st->st_ino);
}

/* Open the named file if it may become host region `bytes` long; -1 otherwise. */
static int open_region(const struct ra_adapter *a, const struct ra_cmd *c)
{
    char name[RA_CMD_DATA_CAPACITY + 1];
    size_t len = name_length(c);
    memcpy(name, c->data, len);
    name[len] = '\0';
    if (!plain_name(name, len))
        return -1;
    char path[4096 + sizeof name + 1];
    snprintf(path, sizeof path, "%s/%s", a->model->cfg.dir, name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < c->arg[1] ||
        is_model_file(a->model, &st)) {
        close(fd);
        return -1;
    }
    return fd;
}

static uint32_t register_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[0] >= RA_HOSTMEM_MAX || c->arg[1] == 0)
        return RA_ERR_BAD_ARGUMENT;
    if (a->hostmem[c->arg[0]].map != NULL)
        return RA_ERR_HOSTMEM;
    int fd = open_region(a, c);
    if (fd < 0)
        return RA_ERR_HOSTMEM;
    close(fd);
    return RA_ERR_OK;
}

static uint32_t register_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t handle = (uint32_t)c->arg[0];
    uint64_t bytes = c->arg[1];
    int fd = open_region(a, c);
    if (fd < 0)
        return RA_ERR_HOSTMEM;
    void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return RA_ERR_HOSTMEM; /* nothing was changed yet */
    a->hostmem[handle] = (struct ra_hostmem){.map = map, .bytes = bytes, .owner = c->lock};
    set64(a, hostmem_reg(handle, RA_HOSTMEM_BYTES), bytes);
    set32(a, hostmem_reg(handle, RA_HOSTMEM_OWNER), c->lock);
    set32_release(a, hostmem_reg(handle, RA_HOSTMEM_STATE), 1);
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_hostmem_register = {.check = register_check, .apply = register_apply};

static uint32_t unregister_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[0] >= RA_HOSTMEM_MAX)
        return RA_ERR_BAD_ARGUMENT;
    const struct ra_hostmem *h = &a->hostmem[c->arg[0]];
    if (h->map == NULL || h->dying || h->owner != c->lock)
        return RA_ERR_HOSTMEM;
    return RA_ERR_OK;
}

static void unregister_block(struct ra_adapter *a, const struct ra_cmd *c)
{
    a->hostmem[c->arg[0]].blocked = true;
}

static uint32_t unregister_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    ra_hostmem_unmap(a, (uint32_t)c->arg[0]);
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_hostmem_unregister = {
    .check = unregister_check, .block = unregister_block, .apply = unregister_apply};

void ra_hostmem_unmap(struct ra_adapter *a, uint32_t handle)
{
    struct ra_hostmem *h = &a->hostmem[handle];
    if (h->map == NULL)
        return;
    munmap(h->map, h->bytes);
    memset(h, 0, sizeof *h);
    if (a->bar != NULL)
        bar_zero(a, hostmem_reg(handle, 0), RA_HOSTMEM_STRIDE);
}

/* §11: the owner disconnected; its regions go once no descriptor in progress uses them. */
void ra_hostmem_owner_left(struct ra_adapter *a, uint32_t owner)
{
    for (uint32_t h = 0; h < RA_HOSTMEM_MAX; h++)
        if (a->hostmem[h].map != NULL && a->hostmem[h].owner == owner)
            a->hostmem[h].dying = true;
    ra_hostmem_settle(a);
}

void ra_hostmem_settle(struct ra_adapter *a)
{
    for (uint32_t h = 0; h < RA_HOSTMEM_MAX; h++)
        if (a->hostmem[h].dying && !ra_dma_touches(a, -1, (int)h))
            ra_hostmem_unmap(a, h);
}
