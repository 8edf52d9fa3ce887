/*
 * slots.c - programmable-logic slots (ra-spec §9): image verification (§13) and configuration.
 *
 * SLOT_LOAD copies the image out of the staging window (or a memory slice) into model-private
 * memory first, so the client cannot change it between verification and use, then verifies the
 * copy, in the order of the §5.4 table. A failed verification leaves the slot's registers
 * byte-identical, SLOT_LAST_ERROR included: the error is in CMD_STATUS only. A verified image puts
 * the slot in LOADING (after FORCE released its context slices, as SLICE_RELEASE would), and
 * the configuration takes payload_bytes / CAP_CONFIG_RATE seconds (LOAD_PERMILLE moves 0..1000 as
 * the loop advances it); the command completes only then (deferred completion, admin.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bar.h"
#include "model.h"

static bool all_zero(const uint8_t *p, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* §5.4 SLOT_LOAD checks 2 and 3: where the image is. */
static uint32_t locate_image(struct ra_adapter *a, const struct ra_cmd *c, const uint8_t **image)
{
    const struct ra_config *cfg = &a->model->cfg;
    uint64_t bytes = c->arg[2];
    if (c->arg[0] >= cfg->slots || c->arg[1] > RA_LOAD_SRC_MEMORY || (c->arg[3] & ~(uint64_t)RA_LOAD_FLAG_FORCE) != 0 ||
        (c->arg[1] == RA_LOAD_SRC_STAGING && bytes > RA_BAR_STAGING_BYTES))
        return RA_ERR_BAD_ARGUMENT;
    if (c->arg[1] == RA_LOAD_SRC_STAGING) {
        *image = a->bar + RA_BAR_STAGING;
        return RA_ERR_OK;
    }
    uint64_t index = c->arg[5] >> 40, offset = c->arg[5] & ((1ull << 40) - 1), key = c->arg[4];
    if (index >= cfg->slices)
        return RA_ERR_BAD_ARGUMENT;
    uint32_t i = (uint32_t)index;
    struct ra_slice_state entry = ra_slice_entry(a, i); /* the model's copy, never the BAR's (§10.1) */
    if (key == 0 || key != entry.owner_key)
        return RA_ERR_OWNER_KEY;
    /* §18.7: a slice granted for load/store lives in its holder's grant file, which the holder could
     * shrink under the load (SIGBUS in this process): not an image source while granted */
    if (entry.kind != RA_SLICE_K_MEMORY || (entry.state != RA_SLICE_S_RESERVED && entry.state != RA_SLICE_S_ACTIVE) ||
        a->overlays[i].active)
        return RA_ERR_SLICE_STATE;
    if (offset > entry.length || bytes > entry.length - offset)
        return RA_ERR_BOUNDS;
    *image = a->mem + entry.base + offset;
    return RA_ERR_OK;
}

/* §5.4 SLOT_LOAD checks 4..10 (§13). The header and then the payload are copied into private
 * memory before they are looked at, so the client cannot change them after a check. */
static uint32_t verify_image(struct ra_adapter *a, const uint8_t *image, uint64_t bytes, struct ra_slot_state *out)
{
    const struct ra_config *cfg = &a->model->cfg;
    uint8_t h[RA_IMG_HEADER_BYTES];
    if (bytes < RA_IMG_HEADER_BYTES)
        return RA_ERR_IMG_SIZE;
    memcpy(h, image, sizeof h);
    if (le32(h + RA_IMG_MAGIC) != RA_IMG_MAGIC_VALUE || le16(h + RA_IMG_FORMAT) != RA_IMG_FORMAT_VERSION ||
        le16(h + RA_IMG_HEADER_SIZE) != RA_IMG_HEADER_BYTES || le32(h + RA_IMG_FLAGS) != 0 ||
        !all_zero(h + RA_IMG_RESERVED, RA_IMG_HEADER_BYTES - RA_IMG_RESERVED))
        return RA_ERR_IMG_MAGIC;
    uint64_t payload_bytes = le64(h + RA_IMG_PAYLOAD_BYTES);
    if (payload_bytes > bytes - RA_IMG_HEADER_BYTES || payload_bytes > cfg->slot_bytes)
        return RA_ERR_IMG_SIZE; /* truncated, or larger than a slot; bytes beyond the payload are ignored */
    uint32_t spec_min = le32(h + RA_IMG_SPEC_MIN), spec_max = le32(h + RA_IMG_SPEC_MAX);
    if (spec_min > RA_MODEL_SPEC_VERSION || spec_max < RA_MODEL_SPEC_VERSION)
        return RA_ERR_IMG_SPEC;
    uint32_t function = le32(h + RA_IMG_FUNCTION), contexts = le32(h + RA_IMG_CONTEXTS);
    /* MATMUL is hardened logic (compute units), not something a slot can be programmed with */
    bool loadable = function >= RA_FN_AES_256_GCM && function <= RA_FN_PIPELINE &&
                    (reg32(a, RA_REG_CAP_FUNCTIONS) & (1u << function)) != 0;
    if (!loadable || contexts < 1 || contexts > cfg->contexts)
        return RA_ERR_IMG_FUNCTION;
    uint8_t *payload = malloc(payload_bytes ? payload_bytes : 1);
    if (payload == NULL)
        return RA_ERR_NO_RESOURCE;
    memcpy(payload, image + RA_IMG_HEADER_BYTES, payload_bytes);
    memset(out, 0, sizeof *out);
    ra_sha256(payload, payload_bytes, out->hash);
    uint32_t status = RA_ERR_OK;
    if (memcmp(out->hash, h + RA_IMG_PAYLOAD_SHA256, 32) != 0)
        status = RA_ERR_IMG_HASH;
    else if (function == RA_FN_PIPELINE) /* the stages are all the engine keeps of its payload */
        status = ra_pipeline_parse(payload, payload_bytes, out->stages, &out->stage_count);
    free(payload);
    if (status != RA_ERR_OK)
        return status;
    out->payload_bytes = payload_bytes;
    out->function = function;
    out->contexts = contexts;
    out->image_version = le32(h + RA_IMG_VERSION);
    memcpy(out->name, h + RA_IMG_NAME, sizeof out->name);
    return RA_ERR_OK;
}

/* Zero a slot's registers; LOADS is a since-power-on counter and survives. */
static void clear_slot_registers(struct ra_adapter *a, uint32_t slot)
{
    uint32_t loads = reg32(a, slot_reg(slot, RA_SLOT_LOADS));
    bar_zero(a, slot_reg(slot, 0), RA_SLOT_STRIDE);
    set32(a, slot_reg(slot, RA_SLOT_LOADS), loads);
}

static void clear_slot(struct ra_adapter *a, uint32_t slot)
{
    memset(&a->slots[slot], 0, sizeof a->slots[slot]);
    clear_slot_registers(a, slot);
}

static uint32_t load_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    const uint8_t *image = NULL;
    uint32_t status = locate_image(a, c, &image); /* checks the slot index first */
    if (status == RA_ERR_OK)
        status = verify_image(a, image, c->arg[2], &a->prepared);
    if (status != RA_ERR_OK)
        return status; /* nothing changed: the slot's registers are as they were */
    uint32_t state = reg32(a, slot_reg((uint32_t)c->arg[0], RA_SLOT_STATE));
    if (state == RA_SLOT_S_LOADING)
        return RA_ERR_SLOT_STATE;
    if (state == RA_SLOT_S_BUSY && !(c->arg[3] & RA_LOAD_FLAG_FORCE))
        return RA_ERR_SLOT_BUSY;
    return RA_ERR_OK;
}

/* FORCE on a BUSY slot releases its context slices "as by SLICE_RELEASE": wait for their jobs. */
static void slot_block(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t slot = (uint32_t)c->arg[0];
    if (reg32(a, slot_reg(slot, RA_SLOT_STATE)) == RA_SLOT_S_BUSY)
        ra_slices_block_slot(a, slot);
}

static uint32_t load_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t slot = (uint32_t)c->arg[0];
    bool fail = ra_fault_take(a, RA_FAULT_FAIL_NEXT_LOAD, NULL);
    if (reg32(a, slot_reg(slot, RA_SLOT_STATE)) == RA_SLOT_S_BUSY)
        ra_slices_release_on_slot(a, slot);
    clear_slot(a, slot); /* the old engine is gone */
    struct ra_slot_state *s = &a->slots[slot];
    *s = a->prepared;
    memset(&a->prepared, 0, sizeof a->prepared);
    s->loading = true;
    s->fail_at_half = fail;
    s->load_start_ns = ra_now_ns();
    s->load_ns = (uint64_t)((unsigned __int128)s->payload_bytes * 1000000000u / a->model->cfg.config_rate);
    set32(a, slot_reg(slot, RA_SLOT_STATE), RA_SLOT_S_LOADING);
    return RA_MODEL_DEFERRED;
}

const struct ra_command ra_cmd_slot_load = {.check = load_check, .block = slot_block, .apply = load_apply};

static uint32_t unload_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    if (c->arg[0] >= a->model->cfg.slots || (c->arg[3] & ~(uint64_t)RA_LOAD_FLAG_FORCE) != 0)
        return RA_ERR_BAD_ARGUMENT;
    uint32_t state = reg32(a, slot_reg((uint32_t)c->arg[0], RA_SLOT_STATE));
    if (state == RA_SLOT_S_LOADING)
        return RA_ERR_SLOT_STATE;
    if (state == RA_SLOT_S_BUSY && !(c->arg[3] & RA_LOAD_FLAG_FORCE))
        return RA_ERR_SLOT_BUSY;
    return RA_ERR_OK;
}

static uint32_t unload_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t slot = (uint32_t)c->arg[0];
    if (reg32(a, slot_reg(slot, RA_SLOT_STATE)) == RA_SLOT_S_BUSY)
        ra_slices_release_on_slot(a, slot);
    clear_slot(a, slot);
    return RA_ERR_OK;
}

const struct ra_command ra_cmd_slot_unload = {.check = unload_check, .block = slot_block, .apply = unload_apply};

static void finish_load(struct ra_adapter *a, uint32_t slot)
{
    struct ra_slot_state *s = &a->slots[slot];
    s->loading = false;
    set32(a, slot_reg(slot, RA_SLOT_FUNCTION), s->function);
    bar_write(a, slot_reg(slot, RA_SLOT_IMAGE_HASH), s->hash, sizeof s->hash);
    set32(a, slot_reg(slot, RA_SLOT_CONTEXTS), s->contexts);
    set32(a, slot_reg(slot, RA_SLOT_CONTEXTS_USED), 0);
    set64(a, slot_reg(slot, RA_SLOT_IMAGE_BYTES), s->payload_bytes);
    set32(a, slot_reg(slot, RA_SLOT_IMAGE_VERSION), s->image_version);
    bar_write(a, slot_reg(slot, RA_SLOT_IMAGE_NAME), s->name, sizeof s->name);
    add32(a, slot_reg(slot, RA_SLOT_LOADS), 1);
    set32(a, slot_reg(slot, RA_SLOT_LOAD_PERMILLE), 1000);
    set32_release(a, slot_reg(slot, RA_SLOT_STATE), RA_SLOT_S_READY);
    ra_admin_complete(a, RA_ERR_OK);
}

/* §6 FAIL_NEXT_LOAD: the configuration breaks half way; the slot holds nothing usable and
 * LOAD_PERMILLE stays where it stopped. */
static void fail_load(struct ra_adapter *a, uint32_t slot)
{
    struct ra_slot_state *s = &a->slots[slot];
    memset(s, 0, sizeof *s);
    set32(a, slot_reg(slot, RA_SLOT_FUNCTION), RA_FN_NONE);
    set32(a, slot_reg(slot, RA_SLOT_LAST_ERROR), RA_ERR_LOAD_FAILED);
    set32_release(a, slot_reg(slot, RA_SLOT_STATE), RA_SLOT_S_ERROR);
    ra_admin_complete(a, RA_ERR_LOAD_FAILED);
}

/* The clock is read only when a slot is loading: this runs for every adapter on every wake-up. */
void ra_slots_tick(struct ra_adapter *a)
{
    uint64_t now_ns = 0;
    for (uint32_t slot = 0; slot < a->model->cfg.slots; slot++) {
        struct ra_slot_state *s = &a->slots[slot];
        if (!s->loading)
            continue;
        if (now_ns == 0)
            now_ns = ra_now_ns();
        uint64_t elapsed = now_ns > s->load_start_ns ? now_ns - s->load_start_ns : 0;
        uint64_t permille = s->load_ns ? (uint64_t)((unsigned __int128)elapsed * 1000 / s->load_ns) : 1000;
        set32(a, slot_reg(slot, RA_SLOT_LOAD_PERMILLE), permille > 999 ? 999 : (uint32_t)permille);
        if (s->fail_at_half && elapsed >= s->load_ns / 2)
            fail_load(a, slot);
        else if (elapsed >= s->load_ns)
            finish_load(a, slot);
    }
}

uint64_t ra_slots_next_deadline(const struct ra_adapter *a)
{
    uint64_t deadline = UINT64_MAX;
    for (uint32_t slot = 0; slot < a->model->cfg.slots; slot++) {
        const struct ra_slot_state *s = &a->slots[slot];
        if (!s->loading)
            continue;
        uint64_t d = s->load_start_ns + (s->fail_at_half ? s->load_ns / 2 : s->load_ns);
        if (d < deadline)
            deadline = d;
    }
    return deadline;
}

void ra_slots_reset(struct ra_adapter *a)
{
    for (uint32_t slot = 0; slot < a->model->cfg.slots; slot++)
        clear_slot(a, slot);
}

const struct ra_slot_state *ra_slot_loaded(const struct ra_adapter *a, uint32_t slot)
{
    if (slot >= a->model->cfg.slots)
        return NULL;
    uint32_t state = reg32(a, slot_reg(slot, RA_SLOT_STATE));
    return state == RA_SLOT_S_READY || state == RA_SLOT_S_BUSY ? &a->slots[slot] : NULL;
}
