/*
 * overlay.c - load/store grants of memory slices that the adapter can take back (ra-spec §18.7).
 *
 * Every mapping of one file range shares its pages, so a holder that mapped the adapter memory file
 * itself could never be cut off: punching or truncating the range would only make its mapping fault
 * in the next owner's pages. So a granted memory slice lives, for the time of the grant, in a file
 * of its own (the grant file): the model copies the slice's bytes into it, maps it over the slice's
 * range of its own view of the adapter memory (mmap MAP_FIXED: the DMA engine and the engines see
 * the same bytes at the same addresses), and the holder maps that file. Other models compose the
 * same file into their view of this adapter (fabric.c, from the overlay record in the gate).
 *
 * Revocation copies the bytes back into the memory file (or not, when the slice is scrubbed
 * anyway), maps the memory file over the range again, and truncates the grant file to 0: every
 * mapping of it, the holder's included, loses its pages, and the holder's next access is SIGBUS.
 * The kernel enforces it, whatever the holder does: the embedded analogue of reprogramming a CXL
 * HDM decoder. The grant file is never reused: a later grant gets a new file (a new inode).
 *
 * Callers hold the slice blocked and quiet (§5.4, admin.c) while the overlay begins or ends, so no
 * descriptor of this or another model is moving its bytes meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"

#define COPY_CHUNK_BYTES (1u << 20)

/* Zeros in [off, off + bytes) of fd: a punched hole (pages given back), else written zeros. */
static void zero_range(int fd, uint64_t off, uint64_t bytes)
{
    if (bytes == 0 || fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)bytes) == 0)
        return;
    static const uint8_t zeros[65536];
    while (bytes > 0) {
        size_t n = bytes < sizeof zeros ? (size_t)bytes : sizeof zeros;
        ssize_t w = pwrite(fd, zeros, n, (off_t)off);
        if (w <= 0)
            return;
        off += (uint64_t)w;
        bytes -= (uint64_t)w;
    }
}

/* A copy of many MiB runs inside one command, on the loop's thread: the adapters' heartbeats (§4)
 * keep beating meanwhile, so that no driver takes a busy adapter for a hung one. */
static void stay_alive(struct ra_model *m)
{
    static uint64_t last_ns;
    uint64_t now_ns = ra_now_ns();
    if (now_ns - last_ns < RA_MODEL_TICK_NS)
        return;
    last_ns = now_ns;
    uint64_t clock_ns = ra_clock_ns(m);
    for (unsigned i = 0; i < m->adapters_open; i++)
        ra_adapter_heartbeat(&m->adapters[i], clock_ns);
}

/* Copies the data (not the holes) of [from_off, +bytes) of from_fd, read through `from` (a mapping
 * of that range), to to_fd at to_off. Holes read as zeros and the target range is zero already, so
 * an untouched slice costs nothing. False if a page of `from` could not be read (its file shrank). */
static bool copy_data(struct ra_model *m, int from_fd, const uint8_t *from, uint64_t from_off, uint64_t bytes,
                      int to_fd, uint64_t to_off)
{
    uint64_t end = from_off + bytes, pos = from_off;
    while (pos < end) {
        off_t data = lseek(from_fd, (off_t)pos, SEEK_DATA);
        if (data < 0 || (uint64_t)data >= end)
            return data >= 0 || errno == ENXIO; /* ENXIO: no data after pos */
        off_t hole = lseek(from_fd, data, SEEK_HOLE);
        uint64_t stop = hole < 0 || (uint64_t)hole > end ? end : (uint64_t)hole;
        for (uint64_t p = (uint64_t)data; p < stop;) {
            size_t n = stop - p < COPY_CHUNK_BYTES ? (size_t)(stop - p) : COPY_CHUNK_BYTES;
            /* pwrite reads the source pages in the kernel: a page that is gone is EFAULT, not SIGBUS */
            ssize_t w = pwrite(to_fd, from + (p - from_off), n, (off_t)(to_off + (p - from_off)));
            if (w <= 0)
                return false;
            p += (uint64_t)w;
            stay_alive(m);
        }
        pos = stop;
    }
    return true;
}

static int map_over(struct ra_adapter *a, uint64_t base, uint64_t length, int fd, uint64_t off)
{
    void *p = mmap(a->mem + base, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd,
                   (off_t)off);
    return p == MAP_FAILED ? -1 : 0;
}

/* §18.7: the slice's bytes move into a new grant file at `path`, mapped over the slice in this
 * model's view. A slice granted already (an earlier window of the same owner) is taken back first. */
int ra_overlay_begin(struct ra_adapter *a, uint32_t slice, unsigned window, const char *path)
{
    struct ra_overlay *o = &a->overlays[slice];
    if (o->active)
        ra_overlay_end(a, slice, true);
    const struct ra_slice_state *s = &a->slices[slice];
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    if (strlen(name) >= sizeof o->name)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    if (ftruncate(fd, (off_t)s->length) != 0 || !copy_data(a->model, a->mem_fd, a->mem + s->base, s->base, s->length, fd, 0) ||
        map_over(a, s->base, s->length, fd, 0) != 0)
        goto fail;
    zero_range(a->mem_fd, s->base, s->length); /* the bytes are in the grant file now */
    *o = (struct ra_overlay){.active = true, .fd = fd, .window = window, .base = s->base, .length = s->length,
                             .generation = ++a->overlay_generation};
    strcpy(o->name, name);
    ra_fabric_publish_overlay(a, slice);
    return 0;
fail:
    fprintf(stderr, RA_MODEL_NAME ": cannot back slice %u of adapter %u with %s: %s\n", slice, a->index, path,
            strerror(errno));
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    return -1;
}

/* §18.7 revocation: the bytes go back to the memory file (keep_bytes) or are dropped (the slice is
 * scrubbed next), the memory file is mapped over the range again, and the grant file shrinks to 0. */
void ra_overlay_end(struct ra_adapter *a, uint32_t slice, bool keep_bytes)
{
    struct ra_overlay *o = &a->overlays[slice];
    if (!o->active)
        return;
    zero_range(a->mem_fd, o->base, o->length);
    if (keep_bytes && !copy_data(a->model, o->fd, a->mem + o->base, 0, o->length, a->mem_fd, o->base))
        fprintf(stderr, RA_MODEL_NAME ": slice %u of adapter %u: its grant file %s shrank; bytes after that are lost\n",
                slice, a->index, o->name);
    if (map_over(a, o->base, o->length, a->mem_fd, o->base) != 0) {
        /* the view keeps the grant file's pages: leave them there rather than fault on them later */
        fprintf(stderr, RA_MODEL_NAME ": cannot map adapter %u's memory back over slice %u: %s\n", a->index, slice,
                strerror(errno));
    } else if (ftruncate(o->fd, 0) != 0) {
        fprintf(stderr, RA_MODEL_NAME ": cannot revoke %s: %s\n", o->name, strerror(errno));
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", a->model->cfg.dir, o->name);
    unlink(path);
    close(o->fd);
    *o = (struct ra_overlay){.generation = ++a->overlay_generation};
    ra_fabric_publish_overlay(a, slice);
}

void ra_overlays_end_all(struct ra_adapter *a, bool keep_bytes)
{
    for (uint32_t i = 0; i < RA_SLICE_MAX; i++)
        ra_overlay_end(a, i, keep_bytes);
}
