/*
 * trace.h - where a polled round trip's time goes inside the model, compiled out by default.
 *
 * Build with -DRA_MODEL_TRACE (e.g. CFLAGS in binding.gyp, or by hand) and set RA_MODEL_TRACE_FILE:
 * each RA_TRACE(point) notes the TSC; a round starts at RA_TRACE_FOUND (the loop saw work) and the
 * mean time from there to each later point, and from the round's last point to the next round's
 * start (the other side's share), is written to that file at exit. No clock_gettime: a trace must
 * not cost what it measures.
 */
#ifndef RA_MODEL_TRACE_H
#define RA_MODEL_TRACE_H

enum ra_trace_point {
    RA_TRACE_FOUND,    /* the loop saw work (spin, or a pass that starts) */
    RA_TRACE_TAKEN,    /* a window's chain is in its queue's ring (tenant.c take) */
    RA_TRACE_TURN,     /* its queue's turn began (dma.c ra_dma_turn) */
    RA_TRACE_STARTED,  /* the chain was copied out and validated (dma.c start_op) */
    RA_TRACE_RAN,      /* its bytes are moved (dma.c run_op) */
    RA_TRACE_DONE,     /* its CQE is in the queue's ring (dma.c complete_op) */
    RA_TRACE_POSTED,   /* the window's CQ_TAIL shows it (tenant.c post_cqe) */
    RA_TRACE_SPINNING, /* the loop is back, spinning for the next (loop.c spin) */
    RA_TRACE_POINTS
};

#ifdef RA_MODEL_TRACE
void ra_trace(enum ra_trace_point point);
extern unsigned long long ra_trace_looks; /* spin looks, for the mean time of one */
#define RA_TRACE(point) ra_trace(point)
#define RA_TRACE_LOOK() (ra_trace_looks++)
#else
#define RA_TRACE(point) ((void)0)
#define RA_TRACE_LOOK() ((void)0)
#endif

#endif
