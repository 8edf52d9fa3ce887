/*
 * slots.c - programmable-logic slots (ra-spec §9): image verification (§13) and configuration.
 *
 * SLOT_LOAD copies the image out of the staging window (or a memory slice) into model-private
 * memory first, so the client cannot change it between verification and use, then verifies the
 * copy. A failed verification leaves the slot's registers byte-identical, SLOT_LAST_ERROR included:
 * the error goes to CMD_STATUS and REG_ERROR only. A verified image puts the slot in LOADING, and
 * the configuration takes payload_bytes / CAP_CONFIG_RATE seconds (LOAD_PERMILLE moves 0..1000 as
 * the loop advances it); the command completes only then (deferred completion, admin.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bar.h"
#include "model.h"

struct image_info {
    uint32_t function;
    uint32_t contexts;
    uint32_t version;
    uint64_t payload_bytes;
    uint8_t hash[32];
    uint8_t name[24];
    uint32_t stage_count;
    struct ra_pipeline_stage stages[RA_MODEL_STAGES_MAX];
};

static bool all_zero(const uint8_t *p, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* §13: the checks, in the order their errors are reported. */
static uint32_t verify_image(const struct ra_adapter *a, const uint8_t *img, uint64_t total, struct image_info *info)
{
    const struct ra_config *cfg = &a->model->cfg;
    if (total < RA_IMG_HEADER_BYTES)
        return RA_ERR_IMG_SIZE; /* truncated: not even a header */
    if (le32(img + RA_IMG_MAGIC) != RA_IMG_MAGIC_VALUE || le16(img + RA_IMG_FORMAT) != RA_IMG_FORMAT_VERSION ||
        le16(img + RA_IMG_HEADER_SIZE) != RA_IMG_HEADER_BYTES)
        return RA_ERR_IMG_MAGIC;
    info->payload_bytes = le64(img + RA_IMG_PAYLOAD_BYTES);
    if (info->payload_bytes != total - RA_IMG_HEADER_BYTES || info->payload_bytes > cfg->slot_bytes)
        return RA_ERR_IMG_SIZE;
    uint32_t spec_min = le32(img + RA_IMG_SPEC_MIN), spec_max = le32(img + RA_IMG_SPEC_MAX);
    if (spec_min > RA_MODEL_SPEC_VERSION || spec_max < RA_MODEL_SPEC_VERSION)
        return RA_ERR_IMG_SPEC;
    info->function = le32(img + RA_IMG_FUNCTION);
    info->contexts = le32(img + RA_IMG_CONTEXTS);
    /* MATMUL is hardened logic (compute units), not something a slot can be programmed with */
    bool loadable = info->function == RA_FN_AES_256_GCM || info->function == RA_FN_SHA256 ||
                    info->function == RA_FN_CRC32C || info->function == RA_FN_PIPELINE;
    if (!loadable || info->contexts < 1 || info->contexts > cfg->contexts)
        return RA_ERR_IMG_FUNCTION;
    if (le32(img + RA_IMG_FLAGS) != 0 || !all_zero(img + RA_IMG_RESERVED, RA_IMG_HEADER_BYTES - RA_IMG_RESERVED))
        return RA_ERR_IMG_MAGIC;
    const uint8_t *payload = img + RA_IMG_HEADER_BYTES;
    ra_sha256(payload, info->payload_bytes, info->hash);
    if (memcmp(info->hash, img + RA_IMG_PAYLOAD_SHA256, 32) != 0)
        return RA_ERR_IMG_HASH;
    info->stage_count = 0;
    if (info->function == RA_FN_PIPELINE) {
        uint32_t status = ra_pipeline_parse(payload, info->payload_bytes, info->stages, &info->stage_count);
        if (status != RA_ERR_OK)
            return status;
    }
    info->version = le32(img + RA_IMG_VERSION);
    memcpy(info->name, img + RA_IMG_NAME, sizeof info->name);
    return RA_ERR_OK;
}

/* Copy the image named by SLOT_LOAD's arguments into a private buffer. */
static uint32_t fetch_image(struct ra_adapter *a, const struct ra_cmd *c, uint8_t **image, uint64_t *total)
{
    uint64_t bytes = c->arg[2];
    const uint8_t *src;
    if (c->arg[1] == RA_LOAD_SRC_STAGING) {
        if (bytes > RA_BAR_STAGING_BYTES)
            return RA_ERR_BAD_ARGUMENT;
        src = a->bar + RA_BAR_STAGING;
    } else if (c->arg[1] == RA_LOAD_SRC_MEMORY) {
        if (bytes > (uint64_t)a->model->cfg.slot_bytes + RA_IMG_HEADER_BYTES)
            return RA_ERR_IMG_SIZE; /* larger than any slot: refuse before copying gigabytes */
        uint8_t *p = NULL;
        uint32_t status = ra_slice_resolve_memory(a, (uint32_t)(c->arg[5] >> 40) & 0xFFFFFFu, c->arg[4],
                                                  c->arg[5] & ((1ull << 40) - 1), bytes, &p);
        if (status != RA_ERR_OK)
            return status;
        src = p;
    } else {
        return RA_ERR_BAD_ARGUMENT;
    }
    *image = malloc(bytes ? bytes : 1);
    if (*image == NULL)
        return RA_ERR_NO_RESOURCE;
    memcpy(*image, src, bytes);
    *total = bytes;
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
    free(a->slots[slot].payload);
    memset(&a->slots[slot], 0, sizeof a->slots[slot]);
    clear_slot_registers(a, slot);
}

uint32_t ra_slot_load(struct ra_adapter *a, struct ra_cmd *c)
{
    uint32_t slot = (uint32_t)c->arg[0];
    bool force = (c->arg[3] & RA_LOAD_FLAG_FORCE) != 0;
    if (c->arg[0] >= a->model->cfg.slots || (c->arg[3] & ~(uint64_t)RA_LOAD_FLAG_FORCE) != 0)
        return RA_ERR_BAD_ARGUMENT;
    uint32_t state = reg32(a, slot_reg(slot, RA_SLOT_STATE));
    if (state == RA_SLOT_S_LOADING)
        return RA_ERR_SLOT_STATE;
    if (state == RA_SLOT_S_BUSY && !force)
        return RA_ERR_SLOT_BUSY;

    uint8_t *image = NULL;
    uint64_t total = 0;
    uint32_t status = fetch_image(a, c, &image, &total);
    if (status != RA_ERR_OK)
        return status;
    struct image_info info;
    status = verify_image(a, image, total, &info);
    uint8_t *payload = NULL;
    if (status == RA_ERR_OK) {
        payload = malloc(info.payload_bytes ? info.payload_bytes : 1);
        if (payload == NULL)
            status = RA_ERR_NO_RESOURCE;
        else
            memcpy(payload, image + RA_IMG_HEADER_BYTES, info.payload_bytes);
    }
    free(image);
    if (status != RA_ERR_OK)
        return status; /* nothing changed: the slot's registers are as they were */

    /* from here on the load happens */
    bool fail = ra_fault_take(a, RA_FAULT_FAIL_NEXT_LOAD, NULL);
    if (state == RA_SLOT_S_BUSY)
        ra_slices_release_on_slot(a, slot); /* FORCE: context slices on the old engine are scrubbed */
    clear_slot(a, slot);
    struct ra_slot_state *s = &a->slots[slot];
    s->payload = payload;
    s->payload_bytes = info.payload_bytes;
    s->function = info.function;
    s->contexts = info.contexts;
    s->image_version = info.version;
    memcpy(s->hash, info.hash, sizeof s->hash);
    memcpy(s->name, info.name, sizeof s->name);
    s->stage_count = info.stage_count;
    memcpy(s->stages, info.stages, sizeof s->stages);
    s->loading = true;
    s->fail_at_half = fail;
    s->load_start_ns = ra_now_ns();
    s->load_ns = (uint64_t)((unsigned __int128)info.payload_bytes * 1000000000u / a->model->cfg.config_rate);
    s->cmd_seq = c->seq;
    set32(a, slot_reg(slot, RA_SLOT_STATE), RA_SLOT_S_LOADING);
    return RA_MODEL_DEFERRED;
}

uint32_t ra_slot_unload(struct ra_adapter *a, const struct ra_cmd *c)
{
    uint32_t slot = (uint32_t)c->arg[0];
    if (c->arg[0] >= a->model->cfg.slots || (c->arg[3] & ~(uint64_t)RA_LOAD_FLAG_FORCE) != 0)
        return RA_ERR_BAD_ARGUMENT;
    uint32_t state = reg32(a, slot_reg(slot, RA_SLOT_STATE));
    if (state == RA_SLOT_S_LOADING)
        return RA_ERR_SLOT_STATE;
    if (state == RA_SLOT_S_BUSY && !(c->arg[3] & RA_LOAD_FLAG_FORCE))
        return RA_ERR_SLOT_BUSY;
    if (state == RA_SLOT_S_BUSY)
        ra_slices_release_on_slot(a, slot);
    clear_slot(a, slot);
    return RA_ERR_OK;
}

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
    ra_admin_complete(a, s->cmd_seq, RA_ERR_OK, s->load_ns, s->payload_bytes);
}

/* §6 FAIL_NEXT_LOAD: the configuration breaks half way; the slot holds nothing usable. */
static void fail_load(struct ra_adapter *a, uint32_t slot)
{
    struct ra_slot_state *s = &a->slots[slot];
    uint32_t seq = s->cmd_seq;
    free(s->payload);
    memset(s, 0, sizeof *s);
    set32(a, slot_reg(slot, RA_SLOT_FUNCTION), RA_FN_NONE);
    set32(a, slot_reg(slot, RA_SLOT_LAST_ERROR), RA_ERR_LOAD_FAILED);
    set32_release(a, slot_reg(slot, RA_SLOT_STATE), RA_SLOT_S_ERROR);
    ra_admin_complete(a, seq, RA_ERR_LOAD_FAILED, 0, 0);
}

void ra_slots_tick(struct ra_adapter *a, uint64_t now_ns)
{
    for (uint32_t slot = 0; slot < a->model->cfg.slots; slot++) {
        struct ra_slot_state *s = &a->slots[slot];
        if (!s->loading)
            continue;
        uint64_t elapsed = now_ns - s->load_start_ns;
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
