/*
 * slices.c - the slice table (ra-spec §10): placement, life cycle, scrubbing.
 *
 * A slice is an explicit placement (base, length) of one kind: on-card memory bytes, compute units,
 * or contexts of a loaded engine (base = slot<<16 | first context). Placements of one kind never
 * overlap. Every command except RESERVE names the slice's owner key; the key is the tenant's
 * capability, and 0 never matches. State: FREE -> RESERVED -> ACTIVE -> DRAINING, RELEASE from any
 * non-free state. RELEASE scrubs: a later tenant of the same bytes or context reads zeros.
 *
 * Releasing (or shrinking) a slice while a chunked descriptor is moving bytes through it aborts that
 * descriptor: it completes with SLICE_STATE, the chunks already written stay written (they are
 * scrubbed with the slice, if they were in it), and no byte moves after the release.
 */
#include <fcntl.h>
#include <string.h>

#include "bar.h"
#include "model.h"

#define CONTEXT_SLOT(base)  ((base) >> 16)
#define CONTEXT_FIRST(base) ((base) & 0xFFFFu)

struct placement {
    uint32_t kind;
    uint64_t base;
    uint64_t length;
};

static struct placement slice_placement(const struct ra_adapter *a, uint32_t i)
{
    return (struct placement){
        .kind = reg32(a, slice_reg(i, RA_SLICE_KIND)),
        .base = reg64(a, slice_reg(i, RA_SLICE_BASE)),
        .length = reg64(a, slice_reg(i, RA_SLICE_LENGTH)),
    };
}

/* Does [p.base, p.base + p.length) meet a non-free slice of the same kind (and slot), other than skip? */
static bool overlaps(const struct ra_adapter *a, struct placement p, uint32_t skip)
{
    for (uint32_t i = 0; i < a->model->cfg.slices; i++) {
        if (i == skip || reg32(a, slice_reg(i, RA_SLICE_STATE)) == RA_SLICE_S_FREE)
            continue;
        struct placement o = slice_placement(a, i);
        if (o.kind != p.kind)
            continue;
        uint64_t b = o.base, pb = p.base;
        if (p.kind == RA_SLICE_K_CONTEXT) {
            if (CONTEXT_SLOT(o.base) != CONTEXT_SLOT(p.base))
                continue;
            b = CONTEXT_FIRST(o.base);
            pb = CONTEXT_FIRST(p.base);
        }
        if (b < pb + p.length && pb < b + o.length)
            return true;
    }
    return false;
}

/* Memory placement rules (§10): CAP_MEM_ALIGN granularity, inside CAP_MEM_BYTES. */
static uint32_t check_memory_extent(const struct ra_adapter *a, uint64_t base, uint64_t length)
{
    const struct ra_config *cfg = &a->model->cfg;
    if (base % cfg->mem_align_bytes != 0 || length % cfg->mem_align_bytes != 0)
        return RA_ERR_ALIGN;
    if (base > cfg->memory_bytes || length > cfg->memory_bytes - base)
        return RA_ERR_NO_RESOURCE;
    return RA_ERR_OK;
}

static uint32_t check_compute_extent(const struct ra_adapter *a, uint64_t base, uint64_t length)
{
    uint64_t units = a->model->cfg.compute_units;
    return base >= units || length > units - base ? RA_ERR_NO_RESOURCE : RA_ERR_OK;
}

void ra_memory_scrub(struct ra_adapter *a, uint64_t base, uint64_t bytes)
{
    if (bytes == 0)
        return;
    /* punching a hole gives the pages back and reads as zeros through every mapping */
    if (fallocate(a->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)base, (off_t)bytes) != 0)
        memset(a->mem + base, 0, bytes);
}

static void set_contexts_used(struct ra_adapter *a, uint32_t slot, uint32_t used)
{
    set32(a, slot_reg(slot, RA_SLOT_CONTEXTS_USED), used);
    uint32_t state = reg32(a, slot_reg(slot, RA_SLOT_STATE));
    if (used == 0 && state == RA_SLOT_S_BUSY)
        set32(a, slot_reg(slot, RA_SLOT_STATE), RA_SLOT_S_READY);
    else if (used > 0 && state == RA_SLOT_S_READY)
        set32(a, slot_reg(slot, RA_SLOT_STATE), RA_SLOT_S_BUSY);
}

static uint32_t reserve(struct ra_adapter *a, uint32_t index, const struct ra_cmd *c)
{
    uint32_t kind = (uint32_t)c->arg[1];
    uint64_t key = c->arg[2], base = c->arg[3], length = c->arg[4];
    if (c->arg[1] < RA_SLICE_K_MEMORY || c->arg[1] > RA_SLICE_K_CONTEXT || key == 0 || length == 0)
        return RA_ERR_BAD_ARGUMENT;
    if (reg32(a, slice_reg(index, RA_SLICE_STATE)) != RA_SLICE_S_FREE)
        return RA_ERR_SLICE_STATE;
    struct placement p = {.kind = kind, .base = base, .length = length};
    uint32_t status = RA_ERR_OK;
    const struct ra_slot_state *slot = NULL;
    switch (kind) {
    case RA_SLICE_K_MEMORY:
        status = check_memory_extent(a, base, length);
        break;
    case RA_SLICE_K_COMPUTE:
        status = check_compute_extent(a, base, length);
        break;
    case RA_SLICE_K_CONTEXT: {
        if (CONTEXT_SLOT(base) >= a->model->cfg.slots)
            return RA_ERR_BAD_ARGUMENT;
        slot = ra_slot_loaded(a, (uint32_t)CONTEXT_SLOT(base));
        if (slot == NULL)
            return RA_ERR_SLOT_STATE;
        uint64_t first = CONTEXT_FIRST(base);
        if (first >= slot->contexts || length > slot->contexts - first)
            status = RA_ERR_NO_RESOURCE;
        break;
    }
    }
    if (status != RA_ERR_OK)
        return status;
    if (overlaps(a, p, index))
        return RA_ERR_OVERLAP;

    if (kind == RA_SLICE_K_CONTEXT) {
        uint32_t s = (uint32_t)CONTEXT_SLOT(base);
        set_contexts_used(a, s, reg32(a, slot_reg(s, RA_SLOT_CONTEXTS_USED)) + (uint32_t)length);
    }
    explicit_bzero(&a->slices[index], sizeof a->slices[index]);
    bar_zero(a, slice_reg(index, 0), RA_SLICE_STRIDE);
    set32(a, slice_reg(index, RA_SLICE_KIND), kind);
    set64(a, slice_reg(index, RA_SLICE_OWNER_KEY), key);
    set64(a, slice_reg(index, RA_SLICE_BASE), base);
    set64(a, slice_reg(index, RA_SLICE_LENGTH), length);
    set32_release(a, slice_reg(index, RA_SLICE_STATE), RA_SLICE_S_RESERVED);
    return RA_ERR_OK;
}

void ra_slice_release(struct ra_adapter *a, uint32_t index)
{
    if (reg32(a, slice_reg(index, RA_SLICE_STATE)) == RA_SLICE_S_FREE)
        return;
    ra_dma_abort_users(a->model, a, (int)index, -1, RA_ERR_SLICE_STATE);
    struct placement p = slice_placement(a, index);
    if (p.kind == RA_SLICE_K_MEMORY) {
        ra_memory_scrub(a, p.base, p.length);
    } else if (p.kind == RA_SLICE_K_CONTEXT) {
        uint32_t s = (uint32_t)CONTEXT_SLOT(p.base);
        uint32_t used = reg32(a, slot_reg(s, RA_SLOT_CONTEXTS_USED));
        set_contexts_used(a, s, used > p.length ? used - (uint32_t)p.length : 0);
    }
    explicit_bzero(&a->slices[index], sizeof a->slices[index]); /* the engine key */
    bar_zero(a, slice_reg(index, 0), RA_SLICE_STRIDE);
}

static uint32_t resize(struct ra_adapter *a, uint32_t index, uint64_t new_length)
{
    struct placement p = slice_placement(a, index);
    if (p.kind != RA_SLICE_K_MEMORY && p.kind != RA_SLICE_K_COMPUTE)
        return RA_ERR_BAD_ARGUMENT; /* contexts are sized by RESERVE only */
    if (new_length == 0)
        return RA_ERR_BAD_ARGUMENT;
    uint32_t status = p.kind == RA_SLICE_K_MEMORY ? check_memory_extent(a, p.base, new_length)
                                                  : check_compute_extent(a, p.base, new_length);
    if (status != RA_ERR_OK)
        return status;
    struct placement grown = {.kind = p.kind, .base = p.base, .length = new_length};
    if (new_length > p.length && overlaps(a, grown, index))
        return RA_ERR_OVERLAP;
    if (new_length < p.length) {
        ra_dma_abort_users(a->model, a, (int)index, -1, RA_ERR_SLICE_STATE);
        if (p.kind == RA_SLICE_K_MEMORY)
            ra_memory_scrub(a, p.base + new_length, p.length - new_length);
    }
    set64(a, slice_reg(index, RA_SLICE_LENGTH), new_length);
    return RA_ERR_OK;
}

uint32_t ra_slice_command(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[0] >= a->model->cfg.slices)
        return RA_ERR_BAD_ARGUMENT;
    uint32_t index = (uint32_t)c->arg[0];
    if (c->opcode == RA_CMD_SLICE_RESERVE)
        return reserve(a, index, c);

    uint32_t state = reg32(a, slice_reg(index, RA_SLICE_STATE));
    if (state == RA_SLICE_S_FREE)
        return RA_ERR_SLICE_STATE;
    uint64_t key = c->arg[2];
    if (key == 0 || key != reg64(a, slice_reg(index, RA_SLICE_OWNER_KEY)))
        return RA_ERR_OWNER_KEY;
    switch (c->opcode) {
    case RA_CMD_SLICE_ACTIVATE:
        if (state != RA_SLICE_S_RESERVED)
            return RA_ERR_SLICE_STATE;
        set32(a, slice_reg(index, RA_SLICE_STATE), RA_SLICE_S_ACTIVE);
        return RA_ERR_OK;
    case RA_CMD_SLICE_DRAIN:
        if (state != RA_SLICE_S_ACTIVE)
            return RA_ERR_SLICE_STATE;
        set32(a, slice_reg(index, RA_SLICE_STATE), RA_SLICE_S_DRAINING);
        return RA_ERR_OK;
    case RA_CMD_SLICE_RELEASE:
        ra_slice_release(a, index);
        return RA_ERR_OK;
    case RA_CMD_SLICE_SET_KEY:
        if (c->data_bytes != RA_MODEL_KEY_BYTES ||
            reg32(a, slice_reg(index, RA_SLICE_KIND)) != RA_SLICE_K_CONTEXT)
            return RA_ERR_BAD_ARGUMENT;
        if (state != RA_SLICE_S_RESERVED && state != RA_SLICE_S_ACTIVE)
            return RA_ERR_SLICE_STATE;
        memcpy(a->slices[index].key, c->data, RA_MODEL_KEY_BYTES);
        a->slices[index].key_set = true;
        return RA_ERR_OK;
    case RA_CMD_SLICE_RESIZE:
        return resize(a, index, c->arg[4]);
    default:
        return RA_ERR_BAD_OPCODE;
    }
}

void ra_slices_release_on_slot(struct ra_adapter *a, uint32_t slot)
{
    for (uint32_t i = 0; i < a->model->cfg.slices; i++) {
        if (reg32(a, slice_reg(i, RA_SLICE_STATE)) == RA_SLICE_S_FREE)
            continue;
        struct placement p = slice_placement(a, i);
        if (p.kind == RA_SLICE_K_CONTEXT && CONTEXT_SLOT(p.base) == slot)
            ra_slice_release(a, i);
    }
}

void ra_slices_reset(struct ra_adapter *a)
{
    for (uint32_t i = 0; i < a->model->cfg.slices; i++)
        ra_slice_release(a, i);
    ra_memory_scrub(a, 0, a->model->cfg.memory_bytes);
    explicit_bzero(a->slices, sizeof a->slices);
}

/* A memory slice as a DMA or load source/target would name it (§8): state, key, bounds. */
uint32_t ra_slice_resolve_memory(struct ra_adapter *a, uint32_t index, uint64_t key, uint64_t offset,
                                 uint64_t bytes, uint8_t **ptr)
{
    if (index >= a->model->cfg.slices)
        return RA_ERR_BAD_ARGUMENT;
    if (reg32(a, slice_reg(index, RA_SLICE_KIND)) != RA_SLICE_K_MEMORY ||
        reg32(a, slice_reg(index, RA_SLICE_STATE)) != RA_SLICE_S_ACTIVE)
        return RA_ERR_SLICE_STATE;
    if (key == 0 || key != reg64(a, slice_reg(index, RA_SLICE_OWNER_KEY)))
        return RA_ERR_OWNER_KEY;
    struct placement p = slice_placement(a, index);
    if (offset > p.length || bytes > p.length - offset)
        return RA_ERR_BOUNDS;
    *ptr = a->mem + p.base + offset;
    return RA_ERR_OK;
}
