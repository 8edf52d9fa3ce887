/*
 * admin.c - the admin mailbox (ra-spec §5): take a posted command, run it, complete it.
 *
 * A command is posted when CMD_SEQ differs from CMD_DONE_SEQ. The model copies the opcode, the
 * arguments and CMD_DATA out of the BAR first (acquire after CMD_SEQ), so a client rewriting them
 * while the command runs cannot change what was validated. Each command then runs in three steps
 * (struct ra_command):
 *   check  - every §5.4 check, in the datasheet's order; changes nothing (§5.2.3);
 *   block  - marks the slices / host regions (or, for RESET, the whole adapter) that must go quiet:
 *            new descriptors naming them are refused from now on;
 *   apply  - once no descriptor in progress touches what is blocked (§5.4 "waits for descriptors in
 *            progress"), the effect. SLOT_LOAD's apply starts the configuration and completes later.
 * The mailbox stays busy until completion, which writes CMD_RESULT0/1 (always 0 in spec 1.0),
 * CMD_STATUS, then CMD_DONE_SEQ (release: last), then raises vector 0 on the lock holder.
 */
#include <string.h>

#include "bar.h"
#include "model.h"

static uint32_t nop_check(struct ra_adapter *a, const struct ra_cmd *c)
{
    (void)a;
    (void)c;
    return RA_ERR_OK;
}

static uint32_t nop_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    (void)a;
    (void)c;
    return RA_ERR_OK;
}

static const struct ra_command cmd_nop = {.check = nop_check, .apply = nop_apply};

/* RESET (§5.4, §16.2): waits for every descriptor touching the adapter; then every slice released
 * and scrubbed, every slot EMPTY, every queue's unconsumed submissions dropped and its four indices
 * 0 (owner, IRQ_ENABLE, POLL_US and counters kept), REG_ERROR = 0, DEBUG_FAULT = 0. Host regions,
 * CMD_LOCK, SLOT_LOADS, INT_COUNT, clock and heartbeat are kept. */
static void reset_block(struct ra_adapter *a, const struct ra_cmd *c)
{
    (void)c;
    a->resetting = true;
}

static uint32_t reset_apply(struct ra_adapter *a, const struct ra_cmd *c)
{
    (void)c;
    ra_tenants_close_all(a, false); /* §18: a reset revokes every tenant window (and scrubs) */
    for (unsigned q = 0; q < a->model->cfg.queues; q++)
        ra_dma_queue_reset_indices(a, q);
    ra_slices_reset(a);
    ra_slots_reset(a);
    set32(a, RA_REG_ERROR, RA_ERR_OK);
    set32(a, RA_REG_DEBUG_FAULT, RA_FAULT_NONE);
    return RA_ERR_OK;
}

static const struct ra_command cmd_reset = {.check = nop_check, .block = reset_block, .apply = reset_apply};

static const struct ra_command *command(uint32_t opcode)
{
    switch (opcode) {
    case RA_CMD_NOP: return &cmd_nop;
    case RA_CMD_SLOT_LOAD: return &ra_cmd_slot_load;
    case RA_CMD_SLOT_UNLOAD: return &ra_cmd_slot_unload;
    case RA_CMD_SLICE_RESERVE: return &ra_cmd_slice_reserve;
    case RA_CMD_SLICE_ACTIVATE: return &ra_cmd_slice_activate;
    case RA_CMD_SLICE_DRAIN: return &ra_cmd_slice_drain;
    case RA_CMD_SLICE_RELEASE: return &ra_cmd_slice_release;
    case RA_CMD_SLICE_SET_KEY: return &ra_cmd_slice_set_key;
    case RA_CMD_HOSTMEM_REGISTER: return &ra_cmd_hostmem_register;
    case RA_CMD_HOSTMEM_UNREGISTER: return &ra_cmd_hostmem_unregister;
    case RA_CMD_RESET: return &cmd_reset;
    case RA_CMD_SLICE_RESIZE: return &ra_cmd_slice_resize;
    case RA_CMD_TENANT_OPEN: return &ra_cmd_tenant_open;
    case RA_CMD_TENANT_CLOSE: return &ra_cmd_tenant_close;
    case RA_CMD_SLICE_PROGRAM: return &ra_cmd_slice_program;
    default: return NULL;
    }
}

static void read_command(struct ra_adapter *a, struct ra_cmd *c, uint32_t seq)
{
    memset(c, 0, sizeof *c);
    c->seq = seq;
    c->lock = reg32(a, RA_REG_CMD_LOCK);
    c->opcode = reg32(a, RA_REG_CMD_OPCODE);
    c->data_bytes = reg32(a, RA_REG_CMD_DATA_BYTES);
    for (unsigned i = 0; i < 6; i++)
        c->arg[i] = reg64(a, RA_REG_CMD_ARG0 + 8 * i);
    memcpy(c->data, a->bar + RA_REG_CMD_DATA, RA_CMD_DATA_CAPACITY);
}

static void unblock_all(struct ra_adapter *a)
{
    for (uint32_t i = 0; i < RA_SLICE_MAX; i++)
        a->slices[i].blocked = false;
    for (uint32_t h = 0; h < RA_HOSTMEM_MAX; h++)
        a->hostmem[h].blocked = false;
    a->resetting = false;
    ra_fabric_publish_gate(a); /* §8.9: other models may name the slices again */
}

void ra_admin_complete(struct ra_adapter *a, uint32_t status)
{
    struct ra_cmd *c = &a->cmd;
    if (c->opcode == RA_CMD_SLICE_SET_KEY) {
        /* §5.4: engine keys are never readable through the BAR, whatever the outcome */
        bar_zero(a, RA_REG_CMD_DATA, RA_CMD_DATA_CAPACITY);
        set32(a, RA_REG_CMD_DATA_BYTES, 0);
    }
    /* the holder as of completion: it may drop the lock as soon as it sees CMD_DONE_SEQ */
    uint32_t holder = reg32(a, RA_REG_CMD_LOCK);
    /* §5.1: arguments are write-only (they carry owner keys, §10): read 0 once the command completes */
    for (unsigned i = 0; i < 6; i++)
        set64(a, RA_REG_CMD_ARG0 + 8 * i, 0);
    set64(a, RA_REG_CMD_RESULT0, 0);
    set64(a, RA_REG_CMD_RESULT1, 0);
    set32(a, RA_REG_CMD_STATUS, status);
    set32_release(a, RA_REG_CMD_DONE_SEQ, c->seq);
    ra_server_raise(a, holder, RA_VEC_ADMIN);
    explicit_bzero(c, sizeof *c);
    a->cmd_busy = false;
    a->cmd_configuring = false;
    a->cmd_ops = NULL;
    /* §5.2: a holder that left while its command ran loses the lock now */
    if (a->lock_release_holder != 0) {
        cas32(a, RA_REG_CMD_LOCK, a->lock_release_holder, 0);
        a->lock_release_holder = 0;
    }
    a->admin_kicked = true; /* a command posted meanwhile is looked at right away (§5.2 step 1) */
}

/* Apply the command in progress once nothing it blocked is in use. */
void ra_admin_continue(struct ra_adapter *a)
{
    if (!a->cmd_busy || a->cmd_configuring || a->halted || !ra_dma_quiet(a) || !ra_fabric_quiet(a))
        return;
    uint32_t status = a->cmd_ops->apply(a, &a->cmd);
    unblock_all(a);
    if (status == RA_MODEL_DEFERRED) {
        a->cmd_configuring = true; /* slots.c completes it when the configuration ends */
        return;
    }
    ra_admin_complete(a, status);
}

/* The posted command, if any: run it to completion, or up to where it waits (block, configuration). */
static void run_posted(struct ra_adapter *a)
{
    uint32_t seq = reg32_acquire(a, RA_REG_CMD_SEQ);
    if (seq == reg32(a, RA_REG_CMD_DONE_SEQ))
        return;
    a->cmd_busy = true;
    read_command(a, &a->cmd, seq);
    struct ra_cmd *c = &a->cmd;
    if (c->lock == 0) {
        ra_admin_complete(a, RA_ERR_NOT_LOCKED);
        return;
    }
    const struct ra_command *ops = command(c->opcode);
    if (ops == NULL) {
        ra_admin_complete(a, RA_ERR_BAD_OPCODE);
        return;
    }
    if (c->data_bytes > RA_CMD_DATA_CAPACITY) {
        ra_admin_complete(a, RA_ERR_BAD_ARGUMENT);
        return;
    }
    uint32_t status = ops->check(a, c);
    if (status != RA_ERR_OK) {
        ra_admin_complete(a, status); /* a failing command changes nothing (§5.2) */
        return;
    }
    a->cmd_ops = ops;
    if (ops->block != NULL)
        ops->block(a, c);
    ra_admin_continue(a);
}

/* Vector 0 rang (or the tick came): §6 faults first, then the posted command, if any. */
void ra_admin_service(struct ra_adapter *a)
{
    if (ra_faults_check(a) || a->cmd_busy)
        return;
    run_posted(a);
    /* A command that completed right here needs no second look (ra_admin_complete asks for one, for
     * commands that complete later): its holder posts the next one only after the completion
     * interrupt, and rings, which wakes the loop. The second look cost a whole extra service pass
     * over every adapter per command. */
    if (!a->cmd_busy)
        a->admin_kicked = false;
}

/* §14.4: the lock holder left. Its running command completes first, then the lock is freed. */
void ra_admin_peer_left(struct ra_adapter *a, uint32_t holder)
{
    if (reg32(a, RA_REG_CMD_LOCK) != holder)
        return;
    if (a->cmd_busy)
        a->lock_release_holder = holder;
    else
        cas32(a, RA_REG_CMD_LOCK, holder, 0);
}

/* Is a command posted on some adapter and not taken yet (§5.2)? The DMA pass of the loop yields to it:
 * admin commands go before data turns, so configuring one adapter never waits behind copies on others. */
bool ra_admin_waiting(const struct ra_model *m)
{
    for (unsigned i = 0; i < m->adapters_open; i++) {
        const struct ra_adapter *a = &m->adapters[i];
        if (!a->halted && !a->cmd_busy && reg32_acquire(a, RA_REG_CMD_SEQ) != reg32(a, RA_REG_CMD_DONE_SEQ))
            return true;
    }
    return false;
}
