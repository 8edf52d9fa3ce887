/*
 * admin.c - the admin mailbox (ra-spec §5): take a posted command, run it, complete it.
 *
 * A command is posted when CMD_SEQ differs from CMD_DONE_SEQ. The model copies the opcode, the
 * arguments and CMD_DATA out of the BAR first (acquire after CMD_SEQ), so a client rewriting them
 * while the command runs cannot change what was validated. Every command validates all of its
 * arguments before it changes anything: a failing command changes nothing but CMD_STATUS,
 * REG_ERROR and CMD_DONE_SEQ. Completion writes the results and the status, then CMD_DONE_SEQ
 * (release: last), then raises vector 0 on the lock holder.
 */
#include <string.h>

#include "bar.h"
#include "model.h"

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

/* RESET: every slice released and scrubbed, every slot empty, every queue reset with its owner
 * cleared (in-flight descriptors are dropped without a completion: the rings are gone), every host
 * region unregistered. CMD_LOCK stays with the holder, so that it gets this command's completion. */
static uint32_t reset_adapter(struct ra_adapter *a)
{
    for (unsigned q = 0; q < a->model->cfg.queues; q++)
        ra_dma_queue_reset(a, q);
    ra_slices_reset(a);
    ra_slots_reset(a);
    for (unsigned h = 0; h < RA_HOSTMEM_MAX; h++)
        ra_hostmem_release(a, h);
    set32(a, RA_REG_ERROR, RA_ERR_OK);
    return RA_ERR_OK;
}

static uint32_t execute(struct ra_adapter *a, struct ra_cmd *c)
{
    switch (c->opcode) {
    case RA_CMD_NOP:
        return RA_ERR_OK;
    case RA_CMD_SLOT_LOAD:
        return ra_slot_load(a, c);
    case RA_CMD_SLOT_UNLOAD:
        return ra_slot_unload(a, c);
    case RA_CMD_SLICE_RESERVE:
    case RA_CMD_SLICE_ACTIVATE:
    case RA_CMD_SLICE_DRAIN:
    case RA_CMD_SLICE_RELEASE:
    case RA_CMD_SLICE_SET_KEY:
    case RA_CMD_SLICE_RESIZE:
        return ra_slice_command(a, c);
    case RA_CMD_HOSTMEM_REGISTER:
        return ra_hostmem_register(a, c);
    case RA_CMD_HOSTMEM_UNREGISTER:
        return ra_hostmem_unregister(a, c);
    case RA_CMD_RESET:
        return reset_adapter(a);
    default:
        return RA_ERR_BAD_OPCODE;
    }
}

void ra_admin_complete(struct ra_adapter *a, uint32_t seq, uint32_t status, uint64_t r0, uint64_t r1)
{
    set64(a, RA_REG_CMD_RESULT0, r0);
    set64(a, RA_REG_CMD_RESULT1, r1);
    set32(a, RA_REG_CMD_STATUS, status);
    if (status != RA_ERR_OK)
        set32(a, RA_REG_ERROR, status);
    set32_release(a, RA_REG_CMD_DONE_SEQ, seq);
    ra_server_raise(a, reg32(a, RA_REG_CMD_LOCK), RA_VEC_ADMIN);
    /* after a deferred completion, a command posted meanwhile is looked at right away */
    a->admin_kicked = a->admin_kicked || a->admin_deferred;
    a->admin_deferred = false;
}

/* Vector 0 rang (or the tick came): §6 faults first, then the posted command, if any. */
void ra_admin_service(struct ra_adapter *a)
{
    if (ra_faults_check(a) || a->admin_deferred)
        return;
    uint32_t seq = reg32_acquire(a, RA_REG_CMD_SEQ);
    if (seq == reg32(a, RA_REG_CMD_DONE_SEQ))
        return;
    struct ra_cmd c;
    read_command(a, &c, seq);
    if (c.lock == 0) {
        ra_admin_complete(a, seq, RA_ERR_NOT_LOCKED, 0, 0);
        return;
    }
    uint32_t status = execute(a, &c);
    if (c.opcode == RA_CMD_SLICE_SET_KEY) {
        /* the engine key must not stay readable by the other clients of this BAR (§10) */
        bar_zero(a, RA_REG_CMD_DATA, RA_CMD_DATA_CAPACITY);
        explicit_bzero(c.data, sizeof c.data);
    }
    if (status == RA_MODEL_DEFERRED) {
        a->admin_deferred = true; /* slots.c completes it when the configuration ends */
        return;
    }
    ra_admin_complete(a, seq, status, c.result[0], c.result[1]);
}
