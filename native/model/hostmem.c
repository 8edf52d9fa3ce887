/*
 * hostmem.c - the host region table (ra-spec §11): client memory the DMA engine may reach.
 *
 * A client names a file in the model's directory (the embedded driver's stand-in for pinned host
 * pages); the model maps it MAP_SHARED and descriptors then name it by handle (RA_LOC_HOST). A
 * region belongs to the peer that registered it: only that peer's queues may use it, only it may
 * unregister it, and it goes away when that peer disconnects.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bar.h"
#include "model.h"

/* [A-Za-z0-9._-]+, not starting with '.', NUL-terminated inside CMD_DATA. */
static bool valid_name(const uint8_t *data)
{
    const char *name = (const char *)data;
    size_t len = strnlen(name, RA_CMD_DATA_CAPACITY);
    if (len == 0 || len == RA_CMD_DATA_CAPACITY || name[0] == '.')
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
    return false;
}

uint32_t ra_hostmem_register(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[0] >= RA_HOSTMEM_MAX || c->arg[1] == 0)
        return RA_ERR_BAD_ARGUMENT;
    uint32_t handle = (uint32_t)c->arg[0];
    uint64_t bytes = c->arg[1];
    if (a->hostmem[handle].map != NULL || !valid_name(c->data))
        return RA_ERR_HOSTMEM;
    char path[4096 + RA_CMD_DATA_CAPACITY + 2];
    snprintf(path, sizeof path, "%s/%s", a->model->cfg.dir, (const char *)c->data);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return RA_ERR_HOSTMEM;
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= bytes && !is_model_file(a->model, &st))
        map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return RA_ERR_HOSTMEM;
    a->hostmem[handle] = (struct ra_hostmem){.map = map, .bytes = bytes, .owner = c->lock};
    set64(a, hostmem_reg(handle, RA_HOSTMEM_BYTES), bytes);
    set32(a, hostmem_reg(handle, RA_HOSTMEM_OWNER), c->lock);
    set32_release(a, hostmem_reg(handle, RA_HOSTMEM_STATE), 1);
    return RA_ERR_OK;
}

uint32_t ra_hostmem_unregister(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[0] >= RA_HOSTMEM_MAX)
        return RA_ERR_BAD_ARGUMENT;
    uint32_t handle = (uint32_t)c->arg[0];
    if (a->hostmem[handle].map == NULL || a->hostmem[handle].owner != c->lock)
        return RA_ERR_HOSTMEM;
    ra_hostmem_release(a, handle);
    return RA_ERR_OK;
}

/* Unmap a region; a descriptor still moving bytes through it completes with HOSTMEM first. */
void ra_hostmem_release(struct ra_adapter *a, uint32_t handle)
{
    struct ra_hostmem *h = &a->hostmem[handle];
    if (h->map == NULL)
        return;
    ra_dma_abort_users(a->model, a, -1, (int)handle, RA_ERR_HOSTMEM);
    munmap(h->map, h->bytes);
    memset(h, 0, sizeof *h);
    bar_zero(a, hostmem_reg(handle, 0), RA_HOSTMEM_STRIDE);
}

void ra_hostmem_release_owner(struct ra_adapter *a, uint32_t owner)
{
    for (uint32_t h = 0; h < RA_HOSTMEM_MAX; h++)
        if (a->hostmem[h].map != NULL && a->hostmem[h].owner == owner)
            ra_hostmem_release(a, h);
}
