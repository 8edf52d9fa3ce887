/*
 * bar.h - register access for the device side of the BAR.
 *
 * ra-spec §2.2: 32-bit registers are accessed with exactly one 32-bit access and 64-bit registers
 * with one 64-bit access, so every access here is a single __atomic load or store of that width
 * (never torn, never merged by the compiler). The ordering rule is the one of §5 and §8: a producer
 * writes its payload, then publishes it with a release store of the index/sequence register
 * (CMD_DONE_SEQ, CQ_TAIL); a consumer reads the index with an acquire load before the payload
 * (CMD_SEQ, SQ_TAIL). On x86 these compile to plain moves plus compiler barriers; the fences are
 * what makes the same code correct on weaker CPUs.
 *
 * Counters and tables written only by the adapter use relaxed read-modify-write sequences: the
 * model is the single writer, clients only read them; 64-bit counters are atomic adds, because a
 * slice's counters are also charged by other models whose DMA engines reach it (§8.8, §8.9).
 */
#ifndef RA_BAR_H
#define RA_BAR_H

#include <string.h>

#include "model.h"

static inline uint32_t reg32(const struct ra_adapter *a, uint32_t off)
{
    return __atomic_load_n((const uint32_t *)(a->bar + off), __ATOMIC_RELAXED);
}

static inline uint32_t reg32_acquire(const struct ra_adapter *a, uint32_t off)
{
    return __atomic_load_n((const uint32_t *)(a->bar + off), __ATOMIC_ACQUIRE);
}

static inline uint64_t reg64(const struct ra_adapter *a, uint32_t off)
{
    return __atomic_load_n((const uint64_t *)(a->bar + off), __ATOMIC_RELAXED);
}

static inline void set32(struct ra_adapter *a, uint32_t off, uint32_t v)
{
    __atomic_store_n((uint32_t *)(a->bar + off), v, __ATOMIC_RELAXED);
}

static inline void set32_release(struct ra_adapter *a, uint32_t off, uint32_t v)
{
    __atomic_store_n((uint32_t *)(a->bar + off), v, __ATOMIC_RELEASE);
}

static inline void set64(struct ra_adapter *a, uint32_t off, uint64_t v)
{
    __atomic_store_n((uint64_t *)(a->bar + off), v, __ATOMIC_RELAXED);
}

static inline void add32(struct ra_adapter *a, uint32_t off, uint32_t v)
{
    set32(a, off, reg32(a, off) + v);
}

/* Atomic: another model charges slice counters of this adapter over the fabric (§8.9). */
static inline void add64(struct ra_adapter *a, uint32_t off, uint64_t v)
{
    __atomic_fetch_add((uint64_t *)(a->bar + off), v, __ATOMIC_RELAXED);
}

/* A counter only this model's thread writes (a queue's, §7): a plain add, no locked instruction
 * (two per descriptor were a tenth of a polled round trip's turn). A client that scribbles on it loses
 * its write, as with any register the adapter owns. */
static inline void add64_own(struct ra_adapter *a, uint32_t off, uint64_t v)
{
    set64(a, off, reg64(a, off) + v);
}

/* Registers a client may also write (CMD_LOCK, QCB_OWNER, DEBUG_FAULT) change only by CAS. */
static inline bool cas32(struct ra_adapter *a, uint32_t off, uint32_t expect, uint32_t v)
{
    return __atomic_compare_exchange_n((uint32_t *)(a->bar + off), &expect, v, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

/* Byte blocks (hash, name, CQE payload) are not registers: plain copies, ordered by the index. */
static inline void bar_write(struct ra_adapter *a, uint32_t off, const void *src, size_t bytes)
{
    memcpy(a->bar + off, src, bytes);
}

static inline void bar_zero(struct ra_adapter *a, uint32_t off, size_t bytes)
{
    memset(a->bar + off, 0, bytes);
}

/* §7: what the driver writes (SQ_TAIL, CQ_HEAD, IRQ_ENABLE, POLL_US) and what the adapter writes
 * (SQ_HEAD, CQ_TAIL, AWAKE) lie on two cache lines of their own, apart from OWNER and the counters (the
 * adapter's, read by the driver only for status): one line written by both sides moved between their
 * two cores at every store of either, several times per polled round trip (as §18.1 for windows). */
#define QCB_LINE(off) ((off) / RA_QCB_LINE_BYTES)
_Static_assert(RA_QCB_STRIDE % RA_QCB_LINE_BYTES == 0 && RA_BAR_QUEUES % RA_QCB_LINE_BYTES == 0,
               "every queue control block begins on a line boundary");
_Static_assert(RA_BAR_QUEUES + RA_QUEUE_MAX * RA_QCB_STRIDE <= RA_BAR_SLOTS, "the QCBs end before the slot table");
_Static_assert(QCB_LINE(RA_QCB_SQ_TAIL) == QCB_LINE(RA_QCB_CQ_HEAD) &&
                   QCB_LINE(RA_QCB_IRQ_ENABLE) == QCB_LINE(RA_QCB_SQ_TAIL) &&
                   QCB_LINE(RA_QCB_POLL_US) == QCB_LINE(RA_QCB_SQ_TAIL),
               "the driver's queue fields share one cache line");
_Static_assert(QCB_LINE(RA_QCB_SQ_HEAD) == QCB_LINE(RA_QCB_CQ_TAIL) && QCB_LINE(RA_QCB_AWAKE) == QCB_LINE(RA_QCB_SQ_HEAD),
               "the adapter's queue fields share one cache line");
_Static_assert(QCB_LINE(RA_QCB_SQ_TAIL) != QCB_LINE(RA_QCB_SQ_HEAD) && QCB_LINE(RA_QCB_OWNER) != QCB_LINE(RA_QCB_SQ_TAIL) &&
                   QCB_LINE(RA_QCB_OWNER) != QCB_LINE(RA_QCB_SQ_HEAD) &&
                   QCB_LINE(RA_QCB_SUBMITTED) == QCB_LINE(RA_QCB_OWNER) &&
                   QCB_LINE(RA_QCB_COMPLETED) == QCB_LINE(RA_QCB_OWNER) &&
                   QCB_LINE(RA_QCB_ERRORS + 7) == QCB_LINE(RA_QCB_OWNER) &&
                   QCB_LINE(RA_QCB_AWAKE + 3) < QCB_LINE(RA_QCB_STRIDE),
               "OWNER and the counters, the driver's line and the adapter's line are three lines of one block");

static inline uint32_t qcb(unsigned q, uint32_t field)
{
    return RA_BAR_QUEUES + q * RA_QCB_STRIDE + field;
}

static inline uint32_t slot_reg(uint32_t slot, uint32_t field)
{
    return RA_BAR_SLOTS + slot * RA_SLOT_STRIDE + field;
}

static inline uint32_t slice_reg(uint32_t slice, uint32_t field)
{
    return RA_BAR_SLICES + slice * RA_SLICE_STRIDE + field;
}

static inline uint32_t hostmem_reg(uint32_t handle, uint32_t field)
{
    return RA_BAR_HOSTMEM + handle * RA_HOSTMEM_STRIDE + field;
}

/* Little-endian field readers for private copies (descriptors, image headers). */
static inline uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

#endif /* RA_BAR_H */
