/*
 * slices.c - the slice table (ra-spec §10): placement, life cycle, scrubbing.
 *
 * A slice is an explicit placement (base, length) of one kind: on-card memory bytes, compute units,
 * or contexts of a loaded engine (base = slot<<16 | first context). Placements of one kind never
 * overlap. Every command except RESERVE and PROGRAM names the slice's owner key; the key is the
 * tenant's capability, and 0 never matches. State: FREE -> RESERVED -> ACTIVE -> DRAINING (PROGRAM:
 * FREE -> ACTIVE at once), RELEASE from any non-free state. RELEASE scrubs: a later tenant of the same bytes or context reads zeros.
 *
 * RELEASE, DRAIN and a shrinking RESIZE wait for the descriptors in progress that name the slice
 * (admin.c blocks it: new descriptors naming it fail with SLICE_STATE meanwhile), so a chunked copy
 * is never cut short and never writes into memory that was already scrubbed or given away.
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

/* An entry's state, kind, key and placement as the model programmed them (§10.1). The BAR is shared
 * memory that any client can write (§2.2 rule 7): the model never reads those fields back from it, so
 * a SLICE_BASE of 2^44 written there shows a wrong value and changes nothing. Another model's adapter
 * (§8.9) is known only through its files: its entries are read from its BAR and bounds-checked by
 * the caller (dma.c); its owner keys are not in its BAR (write-only, §10): ra_slice_key_matches. */
struct ra_slice_state ra_slice_entry(const struct ra_adapter *a, uint32_t i)
{
    if (!a->remote)
        return a->slices[i];
    return (struct ra_slice_state){
        .state = reg32_acquire(a, slice_reg(i, RA_SLICE_STATE)),
        .kind = reg32(a, slice_reg(i, RA_SLICE_KIND)),
        .base = reg64(a, slice_reg(i, RA_SLICE_BASE)),
        .length = reg64(a, slice_reg(i, RA_SLICE_LENGTH)),
    };
}

/* The digest other models compare a descriptor's key with (§8.9): the key itself never leaves the model. */
void ra_slice_key_digest(uint64_t key, uint8_t out[32])
{
    uint8_t le[8];
    for (unsigned b = 0; b < 8; b++)
        le[b] = (uint8_t)(key >> (8 * b));
    ra_sha256(le, sizeof le, out);
}

/* §8.7 check 6: does `key` own slice i? 0 never matches. Another model's slice is compared through the
 * SHA-256 digest its owner publishes in its gate file (§8.9), since its BAR shows no key. */
bool ra_slice_key_matches(const struct ra_adapter *a, uint32_t i, uint64_t key)
{
    if (key == 0)
        return false;
    if (!a->remote)
        return a->slices[i].owner_key == key;
    return ra_fabric_key_matches(a, i, key);
}

static struct placement slice_placement(const struct ra_adapter *a, uint32_t i)
{
    const struct ra_slice_state *s = &a->slices[i];
    return (struct placement){.kind = s->kind, .base = s->base, .length = s->length};
}

/* State changes go to the model's copy and to the BAR (release: the fields before it are visible). */
static void set_state(struct ra_adapter *a, uint32_t i, uint32_t state)
{
    a->slices[i].state = state;
    set32_release(a, slice_reg(i, RA_SLICE_STATE), state);
}

static void set_length(struct ra_adapter *a, uint32_t i, uint64_t length)
{
    a->slices[i].length = length;
    set64(a, slice_reg(i, RA_SLICE_LENGTH), length);
}

/* Does [p.base, p.base + p.length) meet a non-free slice of the same kind (and slot), other than skip? */
static bool overlaps(const struct ra_adapter *a, struct placement p, uint32_t skip)
{
    for (uint32_t i = 0; i < a->model->cfg.slices; i++) {
        if (i == skip || a->slices[i].state == RA_SLICE_S_FREE)
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

static void memory_scrub(struct ra_adapter *a, uint64_t base, uint64_t bytes)
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

/* §5.4 placement checks of RESERVE and RESIZE; `skip` is the slice's own entry (its old range). */
static uint32_t check_placement(const struct ra_adapter *a, struct placement p, uint32_t skip)
{
    uint32_t status = RA_ERR_OK;
    switch (p.kind) {
    case RA_SLICE_K_MEMORY:
        status = check_memory_extent(a, p.base, p.length);
        break;
    case RA_SLICE_K_COMPUTE:
        status = check_compute_extent(a, p.base, p.length);
        break;
    default: { /* RA_SLICE_K_CONTEXT */
        if (CONTEXT_SLOT(p.base) >= a->model->cfg.slots)
            return RA_ERR_BAD_ARGUMENT;
        const struct ra_slot_state *slot = ra_slot_loaded(a, (uint32_t)CONTEXT_SLOT(p.base));
        if (slot == NULL)
            return RA_ERR_SLOT_STATE;
        uint64_t first = CONTEXT_FIRST(p.base);
        if (first >= slot->contexts || p.length > slot->contexts - first)
            status = RA_ERR_NO_RESOURCE;
        break;
    }
    }
    if (status == RA_ERR_OK && overlaps(a, p, skip))
        status = RA_ERR_OVERLAP;
    return status;
}

/* Common checks of every slice command but RESERVE (§5.4): index, owner key, state. */
static uint32_t check_owned(const struct ra_adapter *a, const struct ra_cmd *c, uint32_t allowed_states)
{
    if (c->arg[0] >= a->model->cfg.slices)
        return RA_ERR_BAD_ARGUMENT;
    uint32_t i = (uint32_t)c->arg[0];
    uint64_t key = c->arg[2];
    if (key == 0 || key != a->slices[i].owner_key)
        return RA_ERR_OWNER_KEY; /* a FREE entry has key 0: it never matches */
    if (!(allowed_states & (1u << a->slices[i].state)))
        return RA_ERR_SLICE_STATE;
    return RA_ERR_OK;
}

#define STATES(x) (1u << RA_SLICE_S_##x)

static void block_slice(struct ra_adapter *a, const struct ra_cmd *c)
{
    a->slices[c->arg[0]].blocked = true;
}

/* ---- RESERVE ---- */
static uint32_t reserve_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[0] >= a->model->cfg.slices)
        return RA_ERR_BAD_ARGUMENT;
    if (a->slices[c->arg[0]].state != RA_SLICE_S_FREE)
        return RA_ERR_SLICE_STATE;
    if (c->arg[1] < RA_SLICE_K_MEMORY || c->arg[1] > RA_SLICE_K_CONTEXT || c->arg[2] == 0 || c->arg[4] == 0)
        return RA_ERR_BAD_ARGUMENT;
    struct placement p = {.kind = (uint32_t)c->arg[1], .base = c->arg[3], .length = c->arg[4]};
    return check_placement(a, p, (uint32_t)c->arg[0]);
}

static uint32_t reserve_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t i = (uint32_t)c->arg[0], kind = (uint32_t)c->arg[1];
    uint64_t base = c->arg[3], length = c->arg[4];
    if (kind == RA_SLICE_K_CONTEXT) {
        uint32_t s = (uint32_t)CONTEXT_SLOT(base);
        set_contexts_used(a, s, reg32(a, slot_reg(s, RA_SLOT_CONTEXTS_USED)) + (uint32_t)length);
    }
    explicit_bzero(&a->slices[i], sizeof a->slices[i]);
    a->slices[i].kind = kind;
    a->slices[i].owner_key = c->arg[2];
    a->slices[i].base = base;
    bar_zero(a, slice_reg(i, 0), RA_SLICE_STRIDE); /* counters 0 */
    set32(a, slice_reg(i, RA_SLICE_KIND), kind);
    ra_slice_key_digest(c->arg[2], a->slices[i].key_digest);
    /* §10: SLICE_OWNER_KEY is write-only: it stays 0 in the BAR; other models see only the digest */
    ra_fabric_publish_gate(a);
    set64(a, slice_reg(i, RA_SLICE_BASE), base);
    set_length(a, i, length);
    set_state(a, i, RA_SLICE_S_RESERVED);
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_slice_reserve = {.check = reserve_check, .apply = reserve_apply};

/* ---- ACTIVATE, DRAIN ---- */
static uint32_t activate_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    return check_owned(a, c, STATES(RESERVED));
}

static uint32_t activate_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    set_state(a, (uint32_t)c->arg[0], RA_SLICE_S_ACTIVE);
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_slice_activate = {.check = activate_check, .apply = activate_apply};

/* ---- PROGRAM: RESERVE then ACTIVATE as one command (§5.4), one mailbox round trip instead of two.
 * Its checks are RESERVE's: ACTIVATE's (key matches, state RESERVED) hold by construction after a
 * successful RESERVE, so a refused PROGRAM changes nothing, as every command (§5.2). ---- */
static uint32_t program_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    reserve_apply(a, c);
    return activate_apply(a, c);
}

const struct ra_command ra_cmd_slice_program = {.check = reserve_check, .apply = program_apply};

/* DRAIN: refused to new descriptors at once (blocked), DRAINING once those in progress are done. */
static uint32_t drain_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    return check_owned(a, c, STATES(ACTIVE));
}

static uint32_t drain_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    set_state(a, (uint32_t)c->arg[0], RA_SLICE_S_DRAINING);
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_slice_drain = {.check = drain_check, .block = block_slice, .apply = drain_apply};

/* ---- RELEASE ---- */
static void release(struct ra_adapter *a, uint32_t index, bool scrub)
{
    if (a->slices[index].state == RA_SLICE_S_FREE)
        return;
    struct placement p = slice_placement(a, index);
    /* §18.7: a grant file still backing it is revoked first (its holder gets SIGBUS) */
    ra_overlay_end(a, index, !scrub);
    if (p.kind == RA_SLICE_K_MEMORY && scrub) {
        memory_scrub(a, p.base, p.length);
    } else if (p.kind == RA_SLICE_K_CONTEXT) {
        uint32_t s = (uint32_t)CONTEXT_SLOT(p.base);
        uint32_t used = reg32(a, slot_reg(s, RA_SLOT_CONTEXTS_USED));
        set_contexts_used(a, s, used > p.length ? used - (uint32_t)p.length : 0);
    }
    explicit_bzero(&a->slices[index], sizeof a->slices[index]); /* the engine key */
    bar_zero(a, slice_reg(index, 0), RA_SLICE_STRIDE);
}

static uint32_t release_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t status = check_owned(a, c, STATES(RESERVED) | STATES(ACTIVE) | STATES(DRAINING));
    if (status == RA_ERR_OK && (c->arg[1] & ~(uint64_t)RA_RELEASE_F_KEEP) != 0)
        status = RA_ERR_BAD_ARGUMENT;
    return status;
}

static uint32_t release_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    release(a, (uint32_t)c->arg[0], !(c->arg[1] & RA_RELEASE_F_KEEP));
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_slice_release = {.check = release_check, .block = block_slice, .apply = release_apply};

/* ---- SET_KEY: the key goes to model-private memory, never to the BAR (admin.c wipes CMD_DATA) ---- */
static uint32_t set_key_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t status = check_owned(a, c, STATES(RESERVED) | STATES(ACTIVE));
    if (status == RA_ERR_OK && (c->data_bytes != RA_MODEL_KEY_BYTES ||
                                a->slices[c->arg[0]].kind != RA_SLICE_K_CONTEXT))
        status = RA_ERR_BAD_ARGUMENT;
    return status;
}

static uint32_t set_key_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    struct ra_slice_state *s = &a->slices[c->arg[0]];
    memcpy(s->key, c->data, RA_MODEL_KEY_BYTES);
    s->key_set = true;
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_slice_set_key = {.check = set_key_check, .apply = set_key_apply};

/* ---- RESIZE: base stays; shrinking waits for descriptors in progress and scrubs the cut tail ---- */
static uint32_t resize_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t status = check_owned(a, c, STATES(RESERVED) | STATES(ACTIVE));
    if (status != RA_ERR_OK)
        return status;
    struct placement p = slice_placement(a, (uint32_t)c->arg[0]);
    if ((p.kind != RA_SLICE_K_MEMORY && p.kind != RA_SLICE_K_COMPUTE) || c->arg[4] == 0)
        return RA_ERR_BAD_ARGUMENT;
    p.length = c->arg[4];
    return check_placement(a, p, (uint32_t)c->arg[0]);
}

static void resize_block(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[4] < a->slices[c->arg[0]].length || a->overlays[c->arg[0]].active)
        block_slice(a, c);
}

static uint32_t resize_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t i = (uint32_t)c->arg[0];
    struct placement p = slice_placement(a, i);
    uint64_t new_length = c->arg[4];
    ra_overlay_end(a, i, true); /* §18.7: a grant covers the old range; the bytes stay */
    if (p.kind == RA_SLICE_K_MEMORY && new_length < p.length)
        memory_scrub(a, p.base + new_length, p.length - new_length);
    set_length(a, i, new_length);
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_slice_resize = {.check = resize_check, .block = resize_block, .apply = resize_apply};

/* ---- helpers for slots.c, RESET and dma.c ---- */
static bool context_on_slot(const struct ra_adapter *a, uint32_t i, uint32_t slot)
{
    if (a->slices[i].state == RA_SLICE_S_FREE)
        return false;
    struct placement p = slice_placement(a, i);
    return p.kind == RA_SLICE_K_CONTEXT && CONTEXT_SLOT(p.base) == slot;
}

void ra_slices_block_slot(struct ra_adapter *a, uint32_t slot)
{
    for (uint32_t i = 0; i < a->model->cfg.slices; i++)
        if (context_on_slot(a, i, slot))
            a->slices[i].blocked = true;
}

void ra_slices_release_on_slot(struct ra_adapter *a, uint32_t slot)
{
    for (uint32_t i = 0; i < a->model->cfg.slices; i++)
        if (context_on_slot(a, i, slot))
            release(a, i, true);
}

void ra_slices_reset(struct ra_adapter *a)
{
    ra_overlays_end_all(a, false);
    for (uint32_t i = 0; i < a->model->cfg.slices; i++)
        release(a, i, false);
    memory_scrub(a, 0, a->model->cfg.memory_bytes); /* one punch for the whole memory */
    explicit_bzero(a->slices, sizeof a->slices);
}

/* May a new descriptor name this slice? (§8.7 check 5, plus a command waiting for it) */
bool ra_slice_usable(const struct ra_adapter *a, uint32_t index)
{
    if (a->remote) /* §8.9: its owner publishes what waits in its gate */
        return reg32_acquire(a, slice_reg(index, RA_SLICE_STATE)) == RA_SLICE_S_ACTIVE &&
               !ra_fabric_slice_blocked(a, index);
    return a->slices[index].state == RA_SLICE_S_ACTIVE && !a->slices[index].blocked &&
           !a->resetting;
}
